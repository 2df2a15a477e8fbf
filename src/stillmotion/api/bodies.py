"""Request bodies: read with a size cap, parsed off the event loop within limits on their shape.

Every body a route reads comes through here: JSON with `read_json_object`, multipart/form-data with `read_form`.
A create has about a dozen fields, so a body is refused (400, naming the rule) with more than `MAX_KEYS` keys in
one object, `MAX_VALUES` values in all, or nesting deeper than `MAX_DEPTH`; over the byte cap it is a 413. The
shape is counted before the body is parsed, by a scan that stops at the first limit passed, so a 30 MB body of
2.6 million keys costs a few thousand steps of that scan and never reaches `json.loads`. The scan, the parse and
the check that every string can be stored run on a worker thread: other requests go on meanwhile.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import AsyncGenerator
from typing import Any, Final

import anyio
import anyio.to_thread
from fastapi import Request
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException, MultiPartParser

from stillmotion.domain import InvalidInput
from stillmotion.domain.text import unstorable

MAX_KEYS: Final = 1_000
MAX_VALUES: Final = 10_000
MAX_DEPTH: Final = 32

# One JSON token per match: a whole string (possessive, so a long string is one linear pass), a stray quote (an
# unterminated string), a structural character, or a run of anything else (a number, `true`, or garbage that
# `json.loads` refuses later). Whitespace is skipped by the search itself.
_TOKEN: Final = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"|"|[{}\[\],:]|[^\s"{}\[\],:]++', re.DOTALL)


async def read_json_object(request: Request, *, max_bytes: int, limiter: anyio.CapacityLimiter) -> dict[str, Any]:
    """The request body as a JSON object (`parse_json_object`), read with a size cap and parsed on a thread of
    `limiter`; every failure is an `InvalidInput`."""
    raw = await read_body(request, max_bytes=max_bytes)
    # Looked up at call time, so that a test can stand in for the parser.
    return await anyio.to_thread.run_sync(parse_json_object, raw, limiter=limiter)


async def read_body(request: Request, *, max_bytes: int) -> bytes:
    """The whole body, refused with a 413 past `max_bytes` (declared or not)."""
    check_declared_length(request, max_bytes=max_bytes)
    return b"".join([chunk async for chunk in capped_stream(request, max_bytes=max_bytes)])


def parse_json_object(
    raw: bytes, *, max_keys: int = MAX_KEYS, max_values: int = MAX_VALUES, max_depth: int = MAX_DEPTH
) -> dict[str, Any]:
    """`raw` as a JSON object within the limits, every string in it (keys too) storable (`storable_text`).
    Blocking and CPU-bound: call it off the event loop."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("body", "must be UTF-8 encoded JSON") from None
    check_json_shape(text, max_keys=max_keys, max_values=max_values, max_depth=max_depth)
    try:
        value = json.loads(text)
    except RecursionError:  # pragma: no cover - the depth limit comes first
        raise InvalidInput("body", "is nested too deeply") from None
    except ValueError as exc:
        raise InvalidInput("body", f"is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise InvalidInput("body", "must be a JSON object")
    _check_storable(value)
    return value


def check_json_shape(text: str, *, max_keys: int, max_values: int, max_depth: int) -> None:
    """Refuse `text` as soon as the JSON in it passes a limit; what is not JSON at all is left to the parser.

    Values are counted as they open (objects, arrays) or appear (strings, numbers, literals); a key is not a value.
    """
    open_keys: list[int] = []  # per open container: keys so far (objects) or -1 (arrays)
    values = 0
    expect_key = False
    for match in _TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first == '"':
            if len(token) == 1:
                where = match.start()
                raise InvalidInput("body", f"is not valid JSON (unterminated string starting at character {where})")
            if expect_key:
                expect_key = False
                open_keys[-1] += 1
                if open_keys[-1] > max_keys:
                    raise InvalidInput(
                        "body", f"has an object with more than {max_keys} keys; at most {max_keys} keys per object"
                    )
                continue
            values += 1
        elif first in "{[":
            values += 1
            if len(open_keys) >= max_depth:
                raise InvalidInput(
                    "body",
                    f"is nested too deeply: more than {max_depth} levels of objects and arrays; at most {max_depth}",
                )
            open_keys.append(0 if first == "{" else -1)
            expect_key = first == "{"
        elif first in "}]":
            if open_keys:
                open_keys.pop()
            expect_key = False
            continue
        elif first == ",":
            expect_key = bool(open_keys) and open_keys[-1] >= 0
            continue
        elif first == ":":
            continue
        else:
            values += 1
        if values > max_values:
            raise InvalidInput("body", f"holds more than {max_values} values; at most {max_values} values in all")


def check_declared_length(request: Request, *, max_bytes: int) -> None:
    """413 before reading anything when the declared Content-Length is over `max_bytes`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise InvalidInput("body", f"is {int(declared)} bytes; at most {max_bytes} bytes are allowed", status_code=413)


async def capped_stream(request: Request, *, max_bytes: int) -> AsyncGenerator[bytes, None]:
    """The body's chunks, stopped with a 413 as soon as more than `max_bytes` have arrived (chunked bodies
    declare no length)."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise InvalidInput("body", f"exceeds {max_bytes} bytes", status_code=413)
        yield chunk


def storable_text(value: str, field: str) -> str:
    """`value` when a database can store it (`domain.text.unstorable`); otherwise an `InvalidInput` naming
    `field`, instead of the 500 the insert (or a lookup) would end in."""
    rule = unstorable(value)
    if rule is not None:
        raise InvalidInput(field, rule)
    return value


def check_request_text(request: Request) -> None:
    """Every query parameter and path parameter of `request` (ids, cursors) is `storable_text`, named by its
    parameter: `?generation_id=%00` is a 400 naming `generation_id` in the dialect's shape, not a lookup."""
    for name, value in request.query_params.multi_items():
        storable_text(name, name)
        storable_text(value, name)
    for name, value in request.path_params.items():
        if isinstance(value, str):
            storable_text(value, name)


def _check_storable(body: dict[str, Any]) -> None:
    """Every string in `body` (keys too) is `storable_text`, named by its path (`input_reference.image_url`)."""
    pending: list[tuple[Any, str]] = [(body, "")]
    while pending:
        value, path = pending.pop()
        if isinstance(value, str):
            storable_text(value, path or "body")
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                storable_text(str(key), name)
                pending.append((item, name))
        elif isinstance(value, list):
            pending.extend((item, f"{path}[{index}]") for index, item in enumerate(value))


# ---- multipart/form-data ----


class _StrictTextParser(MultiPartParser):
    """Starlette decodes a text part that is not valid in its charset as latin-1, which would store mojibake
    (a prompt of `\\xff\\xfe` bytes reads `ÿþ`); refuse such a part instead, naming its field."""

    def on_part_end(self) -> None:
        part = self._current_part
        if part.file is None:
            try:
                bytes(part.data).decode(self._charset)
            except (UnicodeDecodeError, LookupError):
                raise InvalidInput(part.field_name, f"must be {self._charset.upper()} text") from None
        super().on_part_end()


async def read_form(
    request: Request, *, max_bytes: int, max_fields: int, max_files: int, limiter: anyio.CapacityLimiter
) -> FormData:
    """The body as multipart/form-data: at most `max_fields` text fields and `max_files` files, `max_bytes` in all
    (413 past it). The parser works through the body chunk by chunk as it arrives; the check that every text field
    can be stored (`storable_text`) runs on a thread of `limiter`. The caller closes the form."""
    check_declared_length(request, max_bytes=max_bytes)
    parser = _StrictTextParser(
        request.headers,
        capped_stream(request, max_bytes=max_bytes),
        max_files=max_files,
        max_fields=max_fields,
        max_part_size=max_bytes,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InvalidInput("body", f"is not valid multipart/form-data ({exc.message})") from None
    items = [(key, value if isinstance(value, str) else None) for key, value in form.multi_items()]
    try:
        await anyio.to_thread.run_sync(functools.partial(_check_form_text, items), limiter=limiter)
    except BaseException:
        await form.close()
        raise
    return form


def _check_form_text(items: list[tuple[str, str | None]]) -> None:
    """Every field name, and every text field's value (None: a file), is `storable_text`."""
    for key, value in items:
        storable_text(key, key)
        if value is not None:
            storable_text(value, key)
