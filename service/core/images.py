"""What kind of image an upload is and its size, read from its header, and the one check every uploaded image
passes before it is written or shown: a known kind, the size the job renders, or within a cap when that size is
not known (a small file may decode to gigabytes)."""

from __future__ import annotations

import struct

SizeOrNone = tuple[int, int] | None
MAX_PARTS = 256
"""Segments of a JPEG or attributes of an OpenEXR header read at most before the size: the work is bounded
whatever the upload holds."""


def _png(data: bytes) -> SizeOrNone:
    if data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _jpeg(data: bytes) -> SizeOrNone:
    at = 2
    for _ in range(MAX_PARTS):
        if at + 9 > len(data) or data[at] != 0xFF:
            return None
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2:at + 4])[0]
        if length < 2:
            return None
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height, width = struct.unpack(">HH", data[at + 5:at + 9])
            return width, height
        at += 2 + length
    return None


def _bmp(data: bytes) -> SizeOrNone:
    width, height = struct.unpack("<ii", data[18:26])
    return width, abs(height)


def _exr(data: bytes) -> SizeOrNone:
    """The data window of the first part's header: name, type, size, value, until an empty name."""
    at = 8
    for _ in range(MAX_PARTS):
        if at >= len(data) or data[at] == 0:
            return None
        name_end = data.index(b"\0", at)
        type_end = data.index(b"\0", name_end + 1)
        size = struct.unpack("<i", data[type_end + 1:type_end + 5])[0]
        if size < 0 or type_end + 5 + size > len(data):
            return None
        value = data[type_end + 5:type_end + 5 + size]
        if data[at:name_end] == b"dataWindow" and len(value) == 16:
            x0, y0, x1, y1 = struct.unpack("<iiii", value)
            return x1 - x0 + 1, y1 - y0 + 1
        at = type_end + 5 + size
    return None


def _tiff(data: bytes) -> SizeOrNone:
    order = "<" if data[:2] == b"II" else ">"
    at = struct.unpack(order + "I", data[4:8])[0]
    found: dict[int, int] = {}
    for index in range(struct.unpack(order + "H", data[at:at + 2])[0]):
        tag, kind, _, value = struct.unpack(order + "HHI4s", data[at + 2 + 12 * index:at + 14 + 12 * index])
        if tag in (256, 257):
            found[tag] = struct.unpack(order + ("H" if kind == 3 else "I"), value[:2 if kind == 3 else 4])[0]
    return (found[256], found[257]) if len(found) == 2 else None


KINDS = (
    (b"\x89PNG\r\n\x1a\n", ".png", _png),
    (b"\xff\xd8\xff", ".jpg", _jpeg),
    (b"v/1\x01", ".exr", _exr),
    (b"BM", ".bmp", _bmp),
    (b"II*\0", ".tif", _tiff),
    (b"MM\0*", ".tif", _tiff),
)


def identify(data: bytes) -> tuple[str, tuple[int, int]] | None:
    """(file extension, (width, height)) of a PNG, JPEG, OpenEXR, BMP or TIFF image, else None."""
    for magic, extension, reader in KINDS:
        if data.startswith(magic):
            try:
                size = reader(data)
            except (struct.error, ValueError, IndexError):
                return None
            return (extension, size) if size else None
    return None


MAX_SIDE = 16384
"""The widest and tallest image taken when the size the job renders is not known (Blender's default limit for a
texture side; 16384×16384 RGBA is 1 GiB decoded)."""


class ImageRefused(ValueError):
    """An upload that is not a readable image of an acceptable size, and why (a plain sentence)."""

    def __init__(self, message: str, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def checked(data: bytes, expected: tuple[int, int] | None = None) -> tuple[str, tuple[int, int]]:
    """(file extension, size) of an upload that is an image of the ``expected`` size, or of at most
    ``MAX_SIDE`` on each side when no size is expected; else ImageRefused."""
    found = identify(data)
    if found is None:
        raise ImageRefused("the upload is not a PNG, JPEG, OpenEXR, BMP or TIFF image")
    width, height = found[1]
    if expected is not None and (width, height) != expected:
        raise ImageRefused(f"the image is {width}×{height}, the scene renders {expected[0]}×{expected[1]}",
                           too_large=width * height > expected[0] * expected[1])
    if expected is None and not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ImageRefused(f"the image is {width}×{height}; without a known render size at most "
                           f"{MAX_SIDE}×{MAX_SIDE} is taken", too_large=True)
    return found
