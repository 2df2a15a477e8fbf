"""Turn a `first_frame_image` value (URL, data: URI or base64) into checked image bytes.

In two steps, so that a caller can bound what decoding costs before it starts: `plan_decode` runs every cheap
check (size, magic bytes, header dimensions, geometry) and says how many pixels the decode will hold;
`decode` then decodes the pixels (refusing truncated or corrupt files) and, when asked, centre-crops the frame
to an output size (`CropTo`). `check_image` is both steps in one.

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
import math
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Final, Literal

from PIL import ExifTags, Image, ImageOps

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


@dataclass(frozen=True)
class CropTo:
    """Reshape a first frame to an output size before it is stored: centre-cropped, upright, to that size's aspect
    and shrunk to it when larger (never enlarged). Frames wider than tall get `landscape`, the others `portrait`;
    the same size twice means that size whatever the frame."""

    landscape: tuple[int, int]  # (width, height)
    portrait: tuple[int, int]

    def size_for(self, width: int, height: int) -> tuple[int, int]:
        """The output size for a frame of `width` x `height` as stored (EXIF orientation not applied)."""
        return self.landscape if width > height else self.portrait


@dataclass(frozen=True)
class DecodePlan:
    """Image bytes that passed every check short of decoding them, and how `decode` will decode them."""

    data: bytes = field(repr=False)
    format: ImageFormat
    width: int  # as stored, like `FirstFrame`'s
    height: int
    crop_size: tuple[int, int] | None  # (width, height) to crop to; None keeps the bytes as they are
    draft_size: tuple[int, int] | None  # JPEG: decode at a reduced scale, at least this large
    decoded_pixels: int  # what the decode holds in memory at once, in pixels (before any crop)


def plan_decode(
    data: bytes,
    *,
    crop_to: CropTo | None = None,
    max_bytes: int = MAX_IMAGE_BYTES,
    min_short_side_px: int = MIN_SHORT_SIDE_PX,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> DecodePlan:
    """Apply the hosted API's image rules to `data` that need no pixel decoded; the shorter side must *exceed*
    `min_short_side_px`. Pillow's own global bomb limit still applies on top of `max_pixels`.

    A JPEG is planned at the smallest scale its decoder offers (1/2, 1/4, 1/8) that still covers what is kept:
    the crop at its output size, or nothing at all when the bytes are stored as they are (the decode then only
    proves the file whole).
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

    crop_size = None if crop_to is None else crop_to.size_for(width, height)
    draft_size, decoded = None, width * height
    if image_format == "jpeg":
        draft_size, decoded = _plan_jpeg_draft(data, width, height, crop_size)
    return DecodePlan(
        data=data,
        format=image_format,
        width=width,
        height=height,
        crop_size=crop_size,
        draft_size=draft_size,
        decoded_pixels=decoded,
    )


def check_image(
    data: bytes,
    *,
    max_bytes: int = MAX_IMAGE_BYTES,
    min_short_side_px: int = MIN_SHORT_SIDE_PX,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> FirstFrame:
    """Every image rule at once: `plan_decode`, then `decode` (the bytes are kept as they are)."""
    return decode(
        plan_decode(data, max_bytes=max_bytes, min_short_side_px=min_short_side_px, max_pixels=max_pixels)
    )


def decode(plan: DecodePlan) -> FirstFrame:
    """Decode the planned image, refusing truncated or corrupt files now rather than in the worker minutes later,
    then crop it if the plan says so. The decoded pixels are released before this returns."""
    try:
        if plan.format == "png":
            # `verify` checks every chunk's CRC (which `load` does not); it leaves the image unusable,
            # hence the second open for the real decode.
            with _open(plan.data, plan.format) as image:
                image.verify()
        image = _open(plan.data, plan.format)
        if plan.draft_size is not None:
            image.draft(None, plan.draft_size)
        image.load()
    except Exception as exc:  # any decoder failure, whatever Pillow's exception type, means unusable
        raise InvalidInput(
            FIELD, f"could not be decoded as {plan.format.upper()}: it is truncated or corrupt ({exc})"
        ) from None
    try:
        if plan.crop_size is not None:
            cropped = _crop(image, plan, plan.crop_size)
            if cropped is not None:
                return cropped
        return FirstFrame(data=plan.data, format=plan.format, width=plan.width, height=plan.height)
    finally:
        image.close()  # frees the pixels now, not whenever the garbage collector gets to them


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1 to 8; 1 is upright). A PNG's is known once it is loaded (eXIf may follow the
    pixels); an unreadable EXIF block counts as upright rather than refusing a picture that decodes."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _upright(width: int, height: int, orientation: int) -> tuple[int, int]:
    # Orientations 5 to 8 turn the picture a quarter: width and height swap.
    return (height, width) if orientation >= 5 else (width, height)


def _crop_box_size(width: int, height: int, target: tuple[int, int]) -> tuple[int, int]:
    """The largest (width, height) of `target`'s aspect that fits a `width` x `height` picture."""
    target_w, target_h = target
    if width * target_h > target_w * height:  # wider than the target: trim the sides
        return max(1, round(height * target_w / target_h)), height
    return width, max(1, round(width * target_h / target_w))  # taller: trim top and bottom


def _keeps_its_bytes(width: int, height: int, orientation: int, target: tuple[int, int]) -> bool:
    """An upright picture already of the target's shape and no larger is stored as sent."""
    return orientation == 1 and _crop_box_size(width, height, target) == (width, height) and width <= target[0]


def _plan_jpeg_draft(
    data: bytes, width: int, height: int, crop_size: tuple[int, int] | None
) -> tuple[tuple[int, int] | None, int]:
    """(size to ask `draft` for, pixels the decode will hold). Pillow's `draft` picks the smallest DCT scale whose
    result is at least the size asked for, so asking for what the crop needs at its output size is enough."""
    with _open(data, "jpeg") as image:
        orientation = _orientation(image)
        upright_w, upright_h = _upright(width, height, orientation)
        if crop_size is None or _keeps_its_bytes(upright_w, upright_h, orientation, crop_size):
            wanted: tuple[int, int] | None = (1, 1)  # nothing is kept: decode only to prove the file whole
        else:
            crop_w, crop_h = _crop_box_size(upright_w, upright_h, crop_size)
            scale = max(crop_size[0] / crop_w, crop_size[1] / crop_h)
            # One pixel to spare, so that rounding the crop at the reduced scale cannot fall short of the size.
            wanted = None if scale >= 1 else (math.ceil(width * scale) + 1, math.ceil(height * scale) + 1)
        if wanted is None or image.draft(None, wanted) is None:
            return None, width * height
        drafted_w, drafted_h = image.size
        return wanted, drafted_w * drafted_h


def _crop(image: Image.Image, plan: DecodePlan, target: tuple[int, int]) -> FirstFrame | None:
    """`image` (decoded, perhaps at a reduced scale) centre-cropped, upright, to `target`'s aspect and shrunk to
    `target` if larger; PNG stays PNG (lossless), JPEG stays JPEG. None: the bytes as sent are already that."""
    orientation = _orientation(image)
    upright_w, upright_h = _upright(plan.width, plan.height, orientation)
    if _keeps_its_bytes(upright_w, upright_h, orientation, target):
        return None
    full_crop_w, _ = _crop_box_size(upright_w, upright_h, target)
    picture = image
    if orientation != 1:
        picture = ImageOps.exif_transpose(image) or image
    if picture.mode.startswith("I"):
        picture = _eight_bit_grey(picture)
    if picture.mode not in ("RGB", "RGBA", "L", "LA"):
        picture = picture.convert("RGBA")  # palette and CMYK images resample poorly or not at all
    src_w, src_h = picture.size  # smaller than upright_w x upright_h when the JPEG was drafted
    crop_w, crop_h = _crop_box_size(src_w, src_h, target)
    left, top = (src_w - crop_w) // 2, (src_h - crop_h) // 2
    box = (left, top, left + crop_w, top + crop_h)
    if full_crop_w > target[0]:
        # Crop and shrink in one pass: no full-size copy of the crop is made. `reducing_gap` first reduces by an
        # integer factor, which is what keeps a 40-megapixel shrink fast.
        out = picture.resize(target, Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    else:
        out = picture.crop(box)
    if picture is not image:
        picture.close()
    buffer = io.BytesIO()
    if plan.format == "jpeg":
        out.convert("RGB").save(buffer, format="JPEG", quality=95)
    else:
        out.save(buffer, format="PNG")
    width, height = out.size
    out.close()
    return FirstFrame(data=buffer.getvalue(), format=plan.format, width=width, height=height)


def _eight_bit_grey(image: Image.Image) -> Image.Image:
    """A 16-bit greyscale image scaled to 8 bits; Pillow's own conversion clips every sample above 255 (a
    16-bit photo would turn white)."""
    wide = image.convert("I")
    peak = wide.getextrema()[1]
    # "I" carries no range of its own: samples above 255 can only be 16-bit ones.
    sixteen = image.mode.startswith("I;16") or (isinstance(peak, int | float) and peak > 255)
    scale = 255 / 65535 if sixteen else 1.0
    return wide.point(lambda value: value * scale).convert("L")


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


def decode_first_frame(
    value: str, *, fetch: Callable[[str], bytes], max_bytes: int = MAX_IMAGE_BYTES
) -> FirstFrame:
    """`value` is an http(s) URL (fetched with `fetch`), a base64 `data:` URI, or bare base64.

    The bytes decide the format; a data: URI's declared MIME type is ignored.
    """
    found = inline_or_url(value, max_bytes=max_bytes)
    return check_image(fetch(found) if isinstance(found, str) else found, max_bytes=max_bytes)


def is_url(value: str) -> bool:
    """Whether `value` is an http(s) URL (to be fetched) rather than an inline image; cheap, decodes nothing."""
    scheme_match = _SCHEME.match(value.strip())
    return scheme_match is not None and scheme_match.group(1).lower() in ("http", "https")


def inline_or_url(value: str, *, max_bytes: int = MAX_IMAGE_BYTES) -> bytes | str:
    """The bytes of an inline image (a base64 `data:` URI or bare base64), or the http(s) URL to fetch."""
    value = value.strip()
    if not value:
        raise InvalidInput(FIELD, "is empty; send an http(s) URL, a data: URI, or base64 image bytes")
    # ':' is not in either base64 alphabet, so a leading "word:" can only be a URI scheme.
    scheme_match = _SCHEME.match(value)
    if scheme_match is None:
        return _decode_base64(value, max_bytes=max_bytes, what="")
    scheme = scheme_match.group(1).lower()
    if scheme in ("http", "https"):
        return value
    if scheme == "data":
        return _decode_data_uri(value, max_bytes=max_bytes)
    raise InvalidInput(
        FIELD,
        f"URL scheme {scheme!r} is not allowed; use http or https "
        "(or send the image inline as a data: URI or base64)",
    )


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
