"""Form fields of a request body, urlencoded or multipart/form-data, read with bounds set before any parsing:
a body of a hundred thousand parts is refused after its first few, while it streams in."""

from __future__ import annotations

import urllib.parse

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

MAX_FIELDS = 64
"""Text fields a form may hold (the doors' forms hold a dozen)."""
MAX_FILES = 4
"""File parts a multipart form may hold (a SheepIt upload holds one)."""
MAX_FIELD_BYTES = 1 * 2**20
"""The largest text field; file parts are bounded by the body's own limit (--max-body-mb)."""


class FormError(ValueError):
    """A body that is not a readable form, or one past the bounds above."""


def whole(text: str, below: int = 2**63) -> int | None:
    """A request's whole number: ASCII digits only (``str.isdigit`` also takes ``²``, which ``int`` refuses),
    below ``below`` (what SQLite stores); else None."""
    text = text.strip()
    if not (text.isascii() and text.isdecimal()) or len(text) > len(str(below)):
        return None
    number = int(text)
    return number if number < below else None


def parse_text(body: bytes) -> dict[str, str]:
    """An urlencoded body's fields, the first value of each; the field count is checked before parsing."""
    if len(body) > MAX_FIELD_BYTES:
        raise FormError(f"the form is larger than {MAX_FIELD_BYTES // 2**20} MiB")
    try:
        pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormError(f"the form could not be read: {exc}") from exc
    found: dict[str, str] = {}
    for key, value in pairs:
        found.setdefault(key, _text(key, value))
    return found


def _text(name: str, value: str) -> str:
    """A text field's value; FormError for one that holds NUL, which names nothing and which no database's text
    column stores."""
    if "\x00" in name or "\x00" in value:
        raise FormError(f"the form's field {name!r} holds a NUL character")
    return value


async def _multipart(request: Request) -> dict[str, str | bytes]:
    """Each field's first value: text, or the bytes of a file part (one with a filename). Parsed as the body
    streams in, so the bounds refuse a flood of parts at its start."""
    parser = MultiPartParser(request.headers, request.stream(), max_files=MAX_FILES, max_fields=MAX_FIELDS,
                             max_part_size=MAX_FIELD_BYTES)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise FormError(f"the multipart body could not be read: {exc.message}") from exc
    fields: dict[str, str | bytes] = {}
    try:
        for name, value in form.multi_items():
            if name not in fields:
                fields[name] = await value.read() if isinstance(value, UploadFile) else _text(name, value)
    finally:
        await form.close()
    return fields


async def fields(request: Request) -> dict[str, str | bytes]:
    """The form sent in the body, with the query string's fields where the body has none of that name."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    form: dict[str, str | bytes] = {}
    form.update(await _multipart(request) if kind == "multipart/form-data" else parse_text(await request.body()))
    for key, value in request.query_params.multi_items():
        form.setdefault(key, _text(key, value))
    return form
