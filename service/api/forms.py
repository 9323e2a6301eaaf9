"""Form fields of a request body, urlencoded or multipart/form-data, read with the standard library."""

from __future__ import annotations

import email.parser
import email.policy
import urllib.parse

from starlette.requests import Request


class FormError(ValueError):
    """A body that is not a readable form."""


def whole(text: str, below: int = 2**63) -> int | None:
    """A request's whole number: ASCII digits only (``str.isdigit`` also takes ``²``, which ``int`` refuses),
    below ``below`` (what SQLite stores); else None."""
    text = text.strip()
    if not (text.isascii() and text.isdecimal()):
        return None
    number = int(text)
    return number if number < below else None


def parse(content_type: str, body: bytes) -> dict[str, str | bytes]:
    """Each field's first value: text, or the bytes of a file part (one with a filename)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body)
        if not message.is_multipart():
            raise FormError("the multipart body could not be read")
        fields: dict[str, str | bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str) or name in fields:
                continue
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            fields[name] = data if part.get_filename() is not None else data.decode("utf-8", "replace")
        return fields
    try:
        pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=1000)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormError(f"the form could not be read: {exc}") from exc
    found: dict[str, str | bytes] = {}
    for key, value in pairs:
        found.setdefault(key, value)
    return found


async def fields(request: Request) -> dict[str, str | bytes]:
    """The form sent in the body, with the query string's fields where the body has none of that name."""
    form = parse(request.headers.get("content-type", ""), await request.body())
    for key, value in request.query_params.multi_items():
        form.setdefault(key, value)
    return form
