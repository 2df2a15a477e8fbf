"""Turn a `first_frame_image` value (URL, data: URI or base64) into checked image bytes.

The hosted API's rules for the image: JPG/JPEG or PNG, aspect ratio strictly between 2:5 and 5:2,
shorter side strictly greater than 300 px, at most 20 MB. Every violation is an `InvalidInput` on
`first_frame_image` whose rule says what is wrong and what is allowed. Oversize is a 400 like every
other bad value: the request itself may be small (a URL), so 413 "request entity too large" would
point at the wrong thing.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Final, Literal

from PIL import Image

from stillmotion.domain.errors import InvalidInput

FIELD: Final = "first_frame_image"

_MB: Final = 1024 * 1024
# "20 MB" in the hosted API's docs; we read it as 20 MiB (20 * 1024 * 1024 = 20,971,520 bytes), the
# more generous reading, and every size message prints the byte count so nobody has to guess.
MAX_IMAGE_BYTES: Final = 20 * 1024 * 1024

# Decompression-bomb guard: a 20 MB PNG can declare billions of pixels. 40 megapixels (about 160 MB
# decoded as RGBA) is far above what the engine renders and above a typical phone photo (12-24 MP).
MAX_IMAGE_PIXELS: Final = 40_000_000

MIN_ASPECT: Final = Fraction(2, 5)
MAX_ASPECT: Final = Fraction(5, 2)
MIN_SHORT_SIDE_PX: Final = 300

ImageFormat = Literal["jpeg", "png"]

_PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC: Final = b"\xff\xd8\xff"
_PILLOW_FORMAT: Final[dict[ImageFormat, str]] = {"jpeg": "JPEG", "png": "PNG"}

# Other formats people send by mistake, named in the refusal so that the fix is obvious.
_KNOWN_OTHER_MAGIC: Final = (
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x0a", "a JPEG XL image"),
    (b"%PDF", "a PDF document"),
)

_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_NOT_BASE64: Final = re.compile(r"[^A-Za-z0-9+/\-_=\s]")
_URLSAFE_TO_STANDARD: Final = str.maketrans("-_", "+/")


@dataclass(frozen=True)
class FirstFrame:
    """Image bytes that passed every rule. `width`/`height` are as stored (EXIF orientation not applied;
    the rules are symmetric in width and height, so orientation cannot change the verdict)."""

    data: bytes = field(repr=False)  # up to 20 MB: keep it out of logs and tracebacks
    format: ImageFormat
    width: int
    height: int


def describe_size(num_bytes: int) -> str:
    """`21.3 MB (22,334,668 bytes)`: MB is 1024 * 1024 bytes; the exact count settles borderline cases."""
    if num_bytes < _MB:
        return f"{num_bytes:,} bytes"
    megabytes = f"{num_bytes / _MB:.1f}".removesuffix(".0")
    return f"{megabytes} MB ({num_bytes:,} bytes)"


def sniff_format(data: bytes) -> ImageFormat | None:
    """The format by magic bytes alone (a file name or declared MIME type proves nothing)."""
    if data.startswith(_PNG_MAGIC):
        return "png"
    if data.startswith(_JPEG_MAGIC):
        return "jpeg"
    return None


def _describe_other_format(data: bytes) -> str | None:
    for magic, name in _KNOWN_OTHER_MAGIC:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    if data[4:8] == b"ftyp":
        return "an HEIC/AVIF image or a video"
    head = data[:256].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")):
        return "an SVG/XML document"
    if head.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    return None


def check_image(
    data: bytes,
    *,
    max_bytes: int = MAX_IMAGE_BYTES,
    min_short_side_px: int = MIN_SHORT_SIDE_PX,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> FirstFrame:
    """Apply the hosted API's image rules to `data`; the shorter side must *exceed* `min_short_side_px`.

    Cheap checks (size, magic bytes, header dimensions) run before any pixel is decoded; the full decode
    comes last and only refuses truncated or corrupt files. Pillow's own global bomb limit still applies
    on top of `max_pixels`.
    """
    if not data:
        raise InvalidInput(FIELD, "is empty; send a JPG/JPEG or PNG image")
    if len(data) > max_bytes:
        raise InvalidInput(
            FIELD, f"is {describe_size(len(data))}; at most {describe_size(max_bytes)} is allowed"
        )
    image_format = sniff_format(data)
    if image_format is None:
        found = _describe_other_format(data)
        what = f"is {found}, not" if found else "is not"
        raise InvalidInput(FIELD, f"{what} a JPG/JPEG or PNG image (format judged by its bytes)")

    width, height, frame_count = _read_header(data, image_format, max_pixels=max_pixels)
    if width * height > max_pixels:
        raise InvalidInput(
            FIELD,
            f"is {width}x{height} px ({width * height / 1e6:.1f} megapixels); at most "
            f"{max_pixels / 1e6:g} megapixels is allowed (decompression-bomb guard)",
        )
    if frame_count > 1:
        raise InvalidInput(
            FIELD, f"is an animated PNG with {frame_count} frames; a first frame must be a still image"
        )
    problems = _geometry_problems(width, height, min_short_side_px=min_short_side_px)
    if problems:
        raise InvalidInput(FIELD, f"is {width}x{height} px: " + "; ".join(problems))

    _decode_fully(data, image_format)
    return FirstFrame(data=data, format=image_format, width=width, height=height)


def _open(data: bytes, image_format: ImageFormat) -> Image.Image:
    # Only the sniffed format's plugin may parse the bytes, so a polyglot cannot pick another decoder.
    return Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[image_format]])


def _read_header(data: bytes, image_format: ImageFormat, *, max_pixels: int) -> tuple[int, int, int]:
    """(width, height, frame count) from the header only: `Image.open` does not decode pixels."""
    try:
        with _open(data, image_format) as image:
            width, height = image.size
            # JPEGs can carry extra MPO pictures (depth maps, previews); only PNG animation matters.
            frames = int(getattr(image, "n_frames", 1)) if image_format == "png" else 1
    except Image.DecompressionBombError:
        raise InvalidInput(
            FIELD,
            f"declares more pixels than even Pillow's safety limit; at most "
            f"{max_pixels / 1e6:g} megapixels is allowed (decompression-bomb guard)",
        ) from None
    # Pillow signals a malformed header with many exception types (OSError, SyntaxError, struct.error,
    # ValueError, ...); whichever it is, the file cannot be used and the caller needs one clear answer.
    except Exception as exc:
        raise InvalidInput(
            FIELD, f"has a {image_format.upper()} signature but its header is corrupt ({exc})"
        ) from None
    return width, height, frames


def _geometry_problems(width: int, height: int, *, min_short_side_px: int) -> list[str]:
    problems: list[str] = []
    if width <= 0 or height <= 0:
        return ["width and height must be positive"]
    aspect = Fraction(width, height)
    if not MIN_ASPECT < aspect < MAX_ASPECT:
        exact = " exactly" if aspect in (MIN_ASPECT, MAX_ASPECT) else ""
        problems.append(
            f"aspect ratio (width/height){exact} {float(aspect):.4g} is outside 2:5 .. 5:2 "
            "(0.4 .. 2.5, both exclusive)"
        )
    short_side = min(width, height)
    if short_side <= min_short_side_px:
        problems.append(f"shorter side is {short_side} px; it must exceed {min_short_side_px} px")
    return problems


def _decode_fully(data: bytes, image_format: ImageFormat) -> None:
    """Refuse truncated or corrupt files now rather than in the worker minutes later."""
    try:
        if image_format == "png":
            # `verify` checks every chunk's CRC (which `load` does not); it leaves the image unusable,
            # hence the second open for the real decode.
            with _open(data, image_format) as image:
                image.verify()
        with _open(data, image_format) as image:
            image.load()
    except Exception as exc:  # any decoder failure, whatever Pillow's exception type, means unusable
        raise InvalidInput(
            FIELD, f"could not be decoded as {image_format.upper()}: it is truncated or corrupt ({exc})"
        ) from None


def decode_first_frame(
    value: str, *, fetch: Callable[[str], bytes], max_bytes: int = MAX_IMAGE_BYTES
) -> FirstFrame:
    """`value` is an http(s) URL (fetched with `fetch`), a base64 `data:` URI, or bare base64.

    The bytes decide the format; a data: URI's declared MIME type is ignored.
    """
    value = value.strip()
    if not value:
        raise InvalidInput(FIELD, "is empty; send an http(s) URL, a data: URI, or base64 image bytes")
    # ':' is not in either base64 alphabet, so a leading "word:" can only be a URI scheme.
    scheme_match = _SCHEME.match(value)
    if scheme_match is None:
        data = _decode_base64(value, max_bytes=max_bytes, what="")
    else:
        scheme = scheme_match.group(1).lower()
        if scheme in ("http", "https"):
            data = fetch(value)
        elif scheme == "data":
            data = _decode_data_uri(value, max_bytes=max_bytes)
        else:
            raise InvalidInput(
                FIELD,
                f"URL scheme {scheme!r} is not allowed; use http or https "
                "(or send the image inline as a data: URI or base64)",
            )
    return check_image(data, max_bytes=max_bytes)


def _decode_data_uri(value: str, *, max_bytes: int) -> bytes:
    comma = value.find(",")
    if comma < 0:
        raise InvalidInput(FIELD, "is a data: URI without the ',' that starts its payload")
    # "data:image/png;base64" -> ["image/png", "base64"]; the MIME type is deliberately not consulted.
    parameters = [part.strip().lower() for part in value[len("data:") : comma].split(";")]
    if "base64" not in parameters:
        raise InvalidInput(
            FIELD,
            "is a data: URI without ';base64'; only base64 data: URIs are accepted "
            "(e.g. data:image/png;base64,iVBORw0...)",
        )
    payload = value[comma + 1 :]
    if "%" in payload:
        # Some clients percent-encode the whole URI ('+' -> %2B, '=' -> %3D); base64 never contains '%'.
        payload = urllib.parse.unquote(payload)
    return _decode_base64(payload, max_bytes=max_bytes, what="data: URI payload ")


def _decode_base64(text: str, *, max_bytes: int, what: str) -> bytes:
    """Standard or URL-safe alphabet, padding optional, whitespace ignored; size checked before decoding.

    `what` prefixes the rules ("data: URI payload ") so they name the part that is wrong.
    """
    max_chars = 4 * -(-max_bytes // 3)
    # A cheap bound before any copy: even with MIME line breaks every 76 characters, a payload under
    # the limit is well below twice its base64 length.
    if len(text) > 2 * max_chars + 1024:
        raise InvalidInput(
            FIELD,
            f"{what}is {len(text):,} characters; base64 of an image of at most {describe_size(max_bytes)} "
            f"is at most {max_chars:,} characters",
        )
    stray = _NOT_BASE64.search(text)
    if stray is not None:
        hint = "" if what else "; a URL must start with http:// or https://"
        kind = f"{what}is not valid base64" if what else "is not an http(s) URL, a data: URI, or base64"
        raise InvalidInput(
            FIELD,
            f"{kind} (character {stray.group()!r} at position {stray.start()} is not in the base64 "
            f"alphabet){hint}",
        )
    compact = "".join(text.split())
    body = compact.rstrip("=")
    if not body:
        raise InvalidInput(FIELD, f"{what}is empty; it must be base64 of a JPG/JPEG or PNG image")
    if "=" in body:
        raise InvalidInput(FIELD, f"{what}is not valid base64 ('=' padding appears before the end)")
    if len(body) % 4 == 1:
        raise InvalidInput(
            FIELD, f"{what}is not valid base64 ({len(body)} characters cannot be a whole number of bytes)"
        )
    decoded_size = len(body) * 3 // 4  # exact for any valid unpadded base64 length
    if decoded_size > max_bytes:
        raise InvalidInput(
            FIELD, f"{what}decodes to {describe_size(decoded_size)}; at most {describe_size(max_bytes)} "
            "is allowed",
        )
    standard = body.translate(_URLSAFE_TO_STANDARD)
    try:
        return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except binascii.Error as exc:  # pragma: no cover - the checks above leave nothing for this to catch
        raise InvalidInput(FIELD, f"{what}is not valid base64 ({exc})") from None
