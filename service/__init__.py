"""The Shepherd batch service: renders recipes with headless Blender and reports progress."""

import re
from pathlib import Path

# blender_manifest.toml sits beside service/ in the repository and in the built add-on alike.
_MANIFEST = (Path(__file__).resolve().parents[1] / "blender_manifest.toml").read_text(encoding="utf-8")
__version__: str = re.findall(r'^version = "([^"]+)"', _MANIFEST, re.MULTILINE)[0]
