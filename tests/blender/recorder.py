"""Runs inside Blender: a stand-in for UILayout that records what a panel draws, for the scripts beside it."""

from types import SimpleNamespace

import bpy


class Layout:
    """Records what a panel draws: one line per call, nested layouts indented.

    It has exactly the drawing functions this Blender's UILayout has (e.g. ``progress`` from 4.0 on)."""

    NESTED = ("row", "column", "box", "split")

    def __init__(self, lines: list, depth: int = 0) -> None:
        object.__setattr__(self, "lines", lines)
        object.__setattr__(self, "depth", depth)

    def __getattr__(self, name: str):
        if name not in bpy.types.UILayout.bl_rna.functions:
            raise AttributeError(name)

        def draw(*args, **kwargs):
            shown = [a for a in args if isinstance(a, (str, int, float))]
            shown += [f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in kwargs.items()]
            self.lines.append("  " * self.depth + " ".join([name, *map(str, shown)]))
            return Layout(self.lines, self.depth + 1)

        return draw

    def __setattr__(self, name: str, value) -> None:
        self.lines.append("  " * self.depth + f"{name}={value}")


def record(draw) -> list:
    """The lines ``draw(layout)`` draws."""
    lines = []
    draw(Layout(lines))
    return lines


def record_panel(ui, name: str) -> list:
    """The lines the add-on's panel ``name`` (a name in ``ui.PANELS``) draws now."""
    drawing = next(d for n, d, _ in ui.PANELS if n == name)
    return record(lambda layout: drawing.draw(SimpleNamespace(layout=layout), bpy.context))
