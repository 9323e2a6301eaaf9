PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP_APT := $(VENV)/.apt-done
STAMP_PIP := $(VENV)/.pip-done

.PHONY: deps run test lint bench clean

deps: $(STAMP_APT) $(STAMP_PIP)

$(STAMP_APT):
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends blender
	mkdir -p $(VENV) && touch $@

$(STAMP_PIP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@
