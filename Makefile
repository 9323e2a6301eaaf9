# Set-up and everyday commands. On a fresh Debian 12 machine, as root: `make run` or `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := blender python3 python3-venv dbus-daemon libnotify-bin openssl iproute2 xvfb xauth ffmpeg chromium chromium-driver postgresql
STAMP_APT := $(VENV)/.apt-done
STAMP_PIP := $(VENV)/.pip-done
DATA_DIR ?=

.PHONY: deps run test lint bench extension clean

deps: $(STAMP_APT) $(STAMP_PIP)

$(STAMP_APT): Makefile
	apt-get -o DPkg::Lock::Timeout=600 update -q
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $(APT_PACKAGES)
	mkdir -p $(VENV) && touch $@

$(STAMP_PIP): $(STAMP_APT) requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

run: deps
	$(PY) -m service --serve --port 7777 $(if $(DATA_DIR),--data-dir $(DATA_DIR))

lint: deps
	$(PY) -m ruff check shared service tests addon tools
	$(PY) tools/build_extension.py --source
	for system in linux win32 darwin; do $(PY) -m mypy --platform $$system || exit 1; done

test: deps lint
	$(PY) -m pytest -p no:pytest-blender -q

extension: deps
	$(PY) tools/build_extension.py

bench: deps
	$(PY) tests/bench_startup.py
	$(PY) tests/bench_resident.py
	$(PY) tests/bench_ws.py
	$(PY) tests/bench_store.py
	$(PY) tests/bench_large_recipe.py
	$(PY) tests/bench_farm.py
	$(PY) tests/bench_dashboard.py
	$(PY) tests/bench_worker_flood.py
	$(PY) tests/bench_capacity.py
	$(PY) tests/bench_attacks.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
