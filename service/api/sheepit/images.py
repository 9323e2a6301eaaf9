"""What kind of image an uploaded frame is, and its size, read from its header."""

from __future__ import annotations

import struct

SizeOrNone = tuple[int, int] | None


def _png(data: bytes) -> SizeOrNone:
    if data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _jpeg(data: bytes) -> SizeOrNone:
    at = 2
    while at + 9 <= len(data):
        if data[at] != 0xFF:
            return None
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2:at + 4])[0]
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
    while at < len(data) and data[at] != 0:
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
