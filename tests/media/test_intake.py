"""The `first_frame_image` rules: format by bytes, size, geometry, integrity, and the three ways to send it."""

from __future__ import annotations

import base64
import io
import struct
import urllib.parse
import zlib

import numpy as np
import pytest
from PIL import Image

from stillmotion.domain.errors import InvalidInput
from stillmotion.media.intake import (
    MAX_IMAGE_BYTES,
    CropTo,
    FirstFrame,
    check_image,
    decode,
    decode_first_frame,
    describe_size,
    plan_decode,
    sniff_format,
)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def picture(width: int, height: int, *, mode: str = "RGB") -> Image.Image:
    """Noise, so that encoders cannot shrink it to nothing and truncation hits real pixel data."""
    rng = np.random.default_rng(width * 7919 + height)
    pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)  # (H, W, 3)
    return Image.fromarray(pixels).convert(mode)


def png(width: int, height: int) -> bytes:
    return encode(picture(width, height), "PNG")


def jpeg(width: int, height: int) -> bytes:
    return encode(picture(width, height), "JPEG", quality=85)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG header declaring a huge canvas, with almost no pixel data behind it."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b"")
    )


def rule_of(excinfo: pytest.ExceptionInfo[InvalidInput]) -> str:
    assert excinfo.value.field == "first_frame_image"
    assert excinfo.value.status_code == 400
    return excinfo.value.rule


def never_fetch(url: str) -> bytes:
    raise AssertionError(f"fetch must not be called, got {url!r}")


# --- sniff_format ---------------------------------------------------------------------------------


def test_sniff_format_reads_magic_bytes_only() -> None:
    assert sniff_format(png(4, 4)) == "png"
    assert sniff_format(jpeg(4, 4)) == "jpeg"
    assert sniff_format(encode(picture(4, 4), "GIF")) is None
    assert sniff_format(encode(picture(4, 4), "WEBP")) is None
    assert sniff_format(b"") is None
    assert sniff_format(b"\x89PNG") is None  # a prefix of the signature is not a PNG


# --- check_image: what passes ---------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(301, 301), (1000, 2499), (2499, 1000), (640, 480)])
@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_images_inside_the_rules_pass(width: int, height: int, fmt: str) -> None:
    data = png(width, height) if fmt == "png" else jpeg(width, height)
    frame = check_image(data)
    assert frame == FirstFrame(data=data, format=fmt, width=width, height=height)  # type: ignore[arg-type]


def test_sixteen_bit_png_is_accepted() -> None:
    pixels = np.random.default_rng(1).integers(0, 65536, size=(320, 400), dtype=np.uint16)  # (H, W)
    data = encode(Image.fromarray(pixels), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")  # really 16 bits per sample on disk
    assert check_image(data).format == "png"


def test_cmyk_jpeg_is_accepted() -> None:
    data = encode(picture(400, 320, mode="CMYK"), "JPEG")
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    frame = check_image(data)
    assert (frame.format, frame.width, frame.height) == ("jpeg", 400, 320)


def test_grayscale_and_palette_pngs_are_accepted() -> None:
    assert check_image(encode(picture(400, 400, mode="L"), "PNG")).format == "png"
    assert check_image(encode(picture(400, 400, mode="P"), "PNG")).format == "png"


def test_repr_leaves_the_bytes_out() -> None:
    frame = check_image(png(301, 301))
    assert "data" not in repr(frame) and "301" in repr(frame)


# --- check_image: geometry -------------------------------------------------------------------------


def test_shorter_side_of_exactly_300_is_refused() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        check_image(png(300, 400))
    assert rule_of(excinfo) == "is 300x400 px: shorter side is 300 px; it must exceed 300 px"


@pytest.mark.parametrize(("width", "height"), [(400, 1000), (1000, 400)])
def test_aspect_ratio_exactly_on_the_bounds_is_refused(width: int, height: int) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        check_image(png(width, height))
    rule = rule_of(excinfo)
    assert "aspect ratio (width/height) exactly" in rule
    assert "is outside 2:5 .. 5:2" in rule and "exclusive" in rule
    assert "shorter side" not in rule  # 400 px is fine


def test_every_geometry_problem_is_named_at_once() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        check_image(png(200, 501))
    rule = rule_of(excinfo)
    assert rule.startswith("is 200x501 px: aspect ratio (width/height) 0.3992 is outside 2:5 .. 5:2")
    assert rule.endswith("; shorter side is 200 px; it must exceed 300 px")


def test_geometry_limit_is_a_keyword_option() -> None:
    with pytest.raises(InvalidInput, match="it must exceed 400 px"):
        check_image(png(400, 400), min_short_side_px=400)


# --- check_image: size and format -------------------------------------------------------------------


def test_more_than_20_mb_is_refused_before_anything_is_parsed() -> None:
    data = png(301, 301)
    data += b"\0" * (MAX_IMAGE_BYTES + 1 - len(data))
    with pytest.raises(InvalidInput) as excinfo:
        check_image(data)
    assert rule_of(excinfo) == "is 20 MB (20,971,521 bytes); at most 20 MB (20,971,520 bytes) is allowed"


def test_size_limit_is_inclusive_and_configurable() -> None:
    data = png(301, 301)
    assert check_image(data, max_bytes=len(data)).width == 301
    with pytest.raises(InvalidInput, match=r"at most .* is allowed"):
        check_image(data, max_bytes=len(data) - 1)


def test_describe_size_uses_mebibytes() -> None:
    assert describe_size(20 * 1024 * 1024) == "20 MB (20,971,520 bytes)"
    assert describe_size(22_334_668) == "21.3 MB (22,334,668 bytes)"
    assert describe_size(3000) == "3,000 bytes"


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (encode(picture(400, 400), "GIF"), "a GIF image"),
        (encode(picture(400, 400), "WEBP"), "a WebP image"),
        (encode(picture(400, 400), "BMP"), "a BMP image"),
        (encode(picture(400, 400), "TIFF"), "a TIFF image"),
        (b"<!DOCTYPE html><html><body>not found</body></html>", "an HTML page"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "an SVG/XML document"),
    ],
)
def test_other_formats_are_refused_and_named(data: bytes, named: str) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        check_image(data)
    assert rule_of(excinfo) == f"is {named}, not a JPG/JPEG or PNG image (format judged by its bytes)"


def test_unrecognised_bytes_are_refused() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        check_image(b"just some text, saved as photo.png")
    assert rule_of(excinfo) == "is not a JPG/JPEG or PNG image (format judged by its bytes)"


def test_empty_bytes_are_refused() -> None:
    with pytest.raises(InvalidInput, match="is empty"):
        check_image(b"")


# --- check_image: integrity ---------------------------------------------------------------------------


def test_truncated_jpeg_is_refused() -> None:
    data = jpeg(400, 400)
    with pytest.raises(InvalidInput) as excinfo:
        check_image(data[: len(data) // 2])
    assert rule_of(excinfo).startswith("could not be decoded as JPEG: it is truncated or corrupt")


def test_truncated_png_is_refused() -> None:
    data = png(400, 400)
    with pytest.raises(InvalidInput) as excinfo:
        check_image(data[: len(data) // 2])
    assert rule_of(excinfo).startswith("could not be decoded as PNG: it is truncated or corrupt")


def test_png_with_a_flipped_bit_is_refused() -> None:
    data = bytearray(png(400, 400))
    data[len(data) // 2] ^= 0x01  # inside IDAT: only the chunk CRC can tell
    with pytest.raises(InvalidInput, match="could not be decoded as PNG"):
        check_image(bytes(data))


def test_png_signature_with_garbage_header_is_refused() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        check_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert "PNG" in rule_of(excinfo) and "corrupt" in rule_of(excinfo)


def test_animated_png_is_refused() -> None:
    frames = [picture(400, 400), picture(400, 400).transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    data = encode(frames[0], "PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(InvalidInput) as excinfo:
        check_image(data)
    assert rule_of(excinfo) == "is an animated PNG with 2 frames; a first frame must be a still image"


# --- check_image: decompression bombs -------------------------------------------------------------------


def test_png_declaring_50000x50000_is_refused_without_decoding() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        check_image(png_claiming(50_000, 50_000))
    rule = rule_of(excinfo)
    assert "at most 40 megapixels is allowed (decompression-bomb guard)" in rule


def test_png_above_our_pixel_limit_but_below_pillows_is_refused_by_its_header() -> None:
    # 50 MP: Pillow would happily start decoding; the header alone must be enough to refuse it.
    with pytest.raises(InvalidInput) as excinfo:
        check_image(png_claiming(10_000, 5_000))
    assert rule_of(excinfo) == (
        "is 10000x5000 px (50.0 megapixels); at most 40 megapixels is allowed (decompression-bomb guard)"
    )


def test_pixel_limit_is_a_keyword_option() -> None:
    with pytest.raises(InvalidInput, match=r"at most 0\.1 megapixels"):
        check_image(png(400, 400), max_pixels=100_000)


# --- decode_first_frame ---------------------------------------------------------------------------------


def test_raw_base64_standard_alphabet() -> None:
    data = png(301, 301)
    assert decode_first_frame(base64.b64encode(data).decode(), fetch=never_fetch).data == data


def test_raw_base64_urlsafe_without_padding_and_with_line_breaks() -> None:
    data = jpeg(320, 330)
    text = base64.urlsafe_b64encode(data).decode().rstrip("=")
    wrapped = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    frame = decode_first_frame(f"  {wrapped}\r\n", fetch=never_fetch)
    assert (frame.data, frame.format) == (data, "jpeg")


def test_data_uri_format_comes_from_the_bytes_not_the_declared_type() -> None:
    data = png(301, 301)
    value = "data:image/jpeg;base64," + base64.b64encode(data).decode()
    assert decode_first_frame(value, fetch=never_fetch).format == "png"


def test_percent_encoded_data_uri_is_accepted() -> None:
    data = png(301, 301)
    value = "data:image/png;base64," + urllib.parse.quote(base64.b64encode(data).decode(), safe="")
    assert "%2B" in value or "%2F" in value or "%3D" in value
    assert decode_first_frame(value, fetch=never_fetch).data == data


def test_data_uri_must_be_base64() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        decode_first_frame("data:image/png,%89PNG%0D%0A", fetch=never_fetch)
    assert "only base64 data: URIs are accepted" in rule_of(excinfo)


def test_data_uri_without_comma_is_refused() -> None:
    with pytest.raises(InvalidInput, match="without the ','"):
        decode_first_frame("data:image/png;base64", fetch=never_fetch)


def test_data_uri_with_bad_base64_names_the_payload() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        decode_first_frame("data:image/png;base64,iVBOR*w0", fetch=never_fetch)
    assert rule_of(excinfo) == (
        "data: URI payload is not valid base64 (character '*' at position 5 is not in the base64 alphabet)"
    )


@pytest.mark.parametrize("scheme", ["http", "https", "HTTPS"])
def test_http_urls_go_to_fetch(scheme: str) -> None:
    data = png(301, 301)
    seen: list[str] = []

    def fetch(url: str) -> bytes:
        seen.append(url)
        return data

    url = f"{scheme}://images.example/cat.png?size=large"
    assert decode_first_frame(f" {url} ", fetch=fetch).data == data
    assert seen == [url]


def test_fetched_bytes_are_checked_like_any_other() -> None:
    with pytest.raises(InvalidInput, match="is a GIF image, not a JPG/JPEG or PNG image"):
        decode_first_frame("https://images.example/cat.png", fetch=lambda _url: encode(picture(400, 400), "GIF"))


@pytest.mark.parametrize(
    ("value", "scheme"),
    [
        ("file:///etc/passwd", "file"),
        ("ftp://example.com/cat.png", "ftp"),
        ("gopher://example.com:70/_GET", "gopher"),
        ("javascript:alert(1)", "javascript"),
        ("C:\\Users\\me\\cat.png", "c"),
    ],
)
def test_other_schemes_are_refused_without_fetching(value: str, scheme: str) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        decode_first_frame(value, fetch=never_fetch)
    assert rule_of(excinfo).startswith(f"URL scheme {scheme!r} is not allowed; use http or https")


@pytest.mark.parametrize("value", ["", "   ", "\n\t"])
def test_empty_value_is_refused(value: str) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        decode_first_frame(value, fetch=never_fetch)
    assert rule_of(excinfo) == "is empty; send an http(s) URL, a data: URI, or base64 image bytes"


def test_garbage_is_refused_with_the_offending_character() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        decode_first_frame("www.example.com/cat.png", fetch=never_fetch)
    assert rule_of(excinfo) == (
        "is not an http(s) URL, a data: URI, or base64 (character '.' at position 3 is not in the base64 "
        "alphabet); a URL must start with http:// or https://"
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("QUJD=REVG", "'=' padding appears before the end"),
        ("QUJDR", "5 characters cannot be a whole number of bytes"),
        ("====", "is empty"),
    ],
)
def test_malformed_base64_is_refused(value: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        decode_first_frame(value, fetch=never_fetch)
    assert problem in rule_of(excinfo)


def test_base64_of_something_else_is_refused_as_not_an_image() -> None:
    with pytest.raises(InvalidInput, match="is not a JPG/JPEG or PNG image"):
        decode_first_frame(base64.b64encode(b"hello, world").decode(), fetch=never_fetch)


def test_oversized_base64_is_refused_from_its_length(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decoding(*_args: object, **_kwargs: object) -> bytes:
        raise AssertionError("an oversized payload must be refused before it is decoded")

    monkeypatch.setattr(base64, "b64decode", no_decoding)
    text = "A" * (4 * 1000)  # decodes to 3000 bytes
    with pytest.raises(InvalidInput) as excinfo:
        decode_first_frame(text, fetch=never_fetch, max_bytes=2999)
    assert rule_of(excinfo) == "decodes to 3,000 bytes; at most 2,999 bytes is allowed"
    with pytest.raises(InvalidInput, match="data: URI payload decodes to"):
        decode_first_frame("data:image/png;base64," + text, fetch=never_fetch, max_bytes=2999)


def test_absurdly_long_strings_are_refused_before_any_copy() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        decode_first_frame("A" * 100_000, fetch=never_fetch, max_bytes=1000)
    assert rule_of(excinfo) == (
        "is 100,000 characters; base64 of an image of at most 1,000 bytes is at most 1,336 characters"
    )


# ---- decoding within a plan: what it holds, and the crop ----

LANDSCAPE_OR_PORTRAIT = CropTo(landscape=(1280, 720), portrait=(720, 1280))


def smooth(width: int, height: int) -> Image.Image:
    """Gradients, so that two good resamplings of it agree closely (noise would not)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    pixels = np.stack([255 * xx / width, 255 * yy / height, 128 + 0 * xx], axis=-1).astype(np.uint8)  # (H, W, 3)
    return Image.fromarray(pixels)


def test_a_jpeg_kept_as_sent_is_planned_at_an_eighth_of_each_side() -> None:
    data = encode(smooth(4000, 3000), "JPEG", quality=90)
    plan = plan_decode(data)
    assert (plan.crop_size, plan.decoded_pixels) == (None, 500 * 375)
    assert decode(plan) == FirstFrame(data=data, format="jpeg", width=4000, height=3000)
    png_plan = plan_decode(encode(smooth(800, 600), "PNG"))
    assert (png_plan.draft_size, png_plan.decoded_pixels) == (None, 800 * 600)  # PNG has no reduced decode


def test_a_cropped_jpeg_is_decoded_at_the_scale_its_output_needs_and_matches_a_full_decode() -> None:
    source = smooth(4000, 3000)
    data = encode(source, "JPEG", quality=95)
    plan = plan_decode(data, crop_to=LANDSCAPE_OR_PORTRAIT)
    assert plan.crop_size == (1280, 720)
    assert plan.decoded_pixels == 2000 * 1500
    frame = decode(plan)
    assert (frame.format, frame.width, frame.height) == ("jpeg", 1280, 720)
    with Image.open(io.BytesIO(frame.data)) as stored:
        got = np.asarray(stored.convert("RGB"), dtype=np.float32)
    # The reference: the full picture, centre-cropped to 16:9 (4000x2250), then shrunk.
    reference = source.crop((0, 375, 4000, 2625)).resize((1280, 720), Image.Resampling.LANCZOS)
    assert float(np.abs(got - np.asarray(reference, dtype=np.float32)).mean()) < 2.0


def test_an_exif_rotated_jpeg_is_cropped_upright() -> None:
    # Stored 4000x3000 with "rotate 90 CW to display": upright it is 3000x4000. The stored orientation picks the
    # output size (1280x720), and the upright picture is cropped to it.
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(smooth(4000, 3000), "JPEG", quality=90, exif=exif)
    frame = decode(plan_decode(data, crop_to=LANDSCAPE_OR_PORTRAIT))
    assert (frame.width, frame.height) == (1280, 720)
    with Image.open(io.BytesIO(frame.data)) as stored:
        assert stored.getexif().get(0x0112) is None  # the pixels are upright now; no orientation is left to apply


def test_a_frame_already_of_the_output_shape_keeps_its_bytes() -> None:
    data = encode(smooth(640, 360), "PNG")
    assert decode(plan_decode(data, crop_to=LANDSCAPE_OR_PORTRAIT)).data == data
    assert LANDSCAPE_OR_PORTRAIT.size_for(640, 360) == (1280, 720)
    assert LANDSCAPE_OR_PORTRAIT.size_for(360, 360) == (720, 1280)
