"""The Shepherd batch service: renders recipes with headless Blender and reports progress."""

__version__ = "0.1.0"
