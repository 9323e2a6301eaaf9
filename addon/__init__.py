"""Shepherd: build render batches from the open file, send them to the Shepherd service, watch them render."""

bl_info = {
    "name": "Shepherd",
    "author": "Shepherd",
    "version": (0, 0, 0),  # tools/build_extension.py writes blender_manifest.toml's version here
    "blender": (3, 4, 0),
    "location": "3D View and Image Editor > Sidebar (N) > Shepherd",
    "description": "Batch rendering of scenes, cameras, view layers and markers with live progress",
    "category": "Render",
}


def register() -> None:
    from . import registration

    registration.register()


def unregister() -> None:
    from . import registration

    registration.unregister()
