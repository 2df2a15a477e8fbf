"""A corpus of hostile requests against every create route of every dialect: each is refused with a 4xx that names
the field (MiniMax: HTTP 200 with a non-zero `base_resp.status_code`, its documented error form), and nothing is
stored: no job row, no file under the media or work directories.

The app under test runs with `allow_private_urls=False`. Names in URLs resolve through an injected resolver
(`private.test` is 10.0.0.7, ...); an autouse guard fails any test that would resolve a name with the system
resolver or connect anywhere but loopback.
"""

from __future__ import annotations

import io
import ipaddress
import json
import socket
import struct
import threading
import urllib.parse
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from stillmotion.api import minimax
from stillmotion.api.app import build_services, create_app
from stillmotion.api.services import Services
from stillmotion.config import Settings
from stillmotion.media import fetch as fetch_module
from stillmotion.media.fetch import UrlFetcher
from stillmotion.media.intake import MAX_IMAGE_BYTES
from stillmotion.media.still import decode_image
from support import TEST_KEY, b64
from support_aiml import assert_aiml_error
from support_network import Dialed, guard_loopback

# --- the corpus, built byte by byte --------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, payload and the CRC over type + payload."""
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def gradient(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """A picture with real content (so that a clipped or blanked conversion would show), in `mode`."""
    yy, xx = np.mgrid[0:height, 0:width]
    pixels = np.stack([xx * 255 // max(width - 1, 1), yy * 255 // max(height - 1, 1), (xx + yy) % 256], axis=-1)
    return Image.fromarray(pixels.astype(np.uint8)).convert(mode)  # (H, W, 3) uint8 before the conversion


def valid_png(width: int = 320, height: int = 400) -> bytes:
    return encode(gradient(width, height), "PNG")


def valid_jpeg(width: int = 320, height: int = 400) -> bytes:
    return encode(gradient(width, height), "JPEG", quality=85)


def truncated(data: bytes) -> bytes:
    """The first half: the header still reads, the pixels do not."""
    return data[: len(data) // 2]


def png_bomb(width: int, height: int) -> bytes:
    """A few hundred bytes that declare `width` x `height` RGB pixels: one compressed scanline of zeros."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, truecolour, no interlace
    scanline = zlib.compress(b"\x00" * (1 + 3 * min(width, 4096)), 9)
    return PNG_SIGNATURE + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", scanline) + png_chunk(b"IEND", b"")


def oversized_png(total_bytes: int) -> bytes:
    """A valid 320x400 PNG padded past `total_bytes` with a private ancillary chunk (which decoders skip)."""
    small = valid_png()
    ihdr_end = len(PNG_SIGNATURE) + 25  # the signature, then IHDR: 4 + 4 + 13 + 4 bytes
    padding = png_chunk(b"zzZz", b"\x00" * max(0, total_bytes - len(small)))
    return small[:ihdr_end] + padding + small[ihdr_end:]


def apng(frames: int = 3) -> bytes:
    images = [gradient(320, 400).rotate(10 * index) for index in range(frames)]
    return encode(images[0], "PNG", save_all=True, append_images=images[1:], duration=100, loop=0)


def animated_gif(frames: int = 3) -> bytes:
    images = [gradient(320, 400).rotate(10 * index).convert("P") for index in range(frames)]
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)


# --- awkward but valid images ------------------------------------------------------------------------------------


def cmyk_jpeg() -> bytes:
    return encode(gradient(400, 320, "CMYK"), "JPEG", quality=90)


def sixteen_bit_png() -> bytes:
    ramp = np.linspace(0, 65535, 320 * 400).reshape(320, 400).astype(np.uint16)  # (H, W) 16-bit samples
    return encode(Image.fromarray(ramp), "PNG")


def grey_alpha_png() -> bytes:
    return encode(gradient(400, 320, "LA"), "PNG")


AUTH = {"Authorization": f"Bearer {TEST_KEY}"}
PNG = valid_png()
MAX_REQUEST_BYTES = Settings.model_fields["max_request_bytes"].default  # the shipped limit, 32 MiB

# Made-up names and what they resolve to; any other name is unknown (as if NXDOMAIN).
NAMES: dict[str, list[str]] = {
    "localhost": ["127.0.0.1", "::1"],
    "private.test": ["10.0.0.7"],
    "mixed.test": ["93.184.215.14", "192.168.1.10"],  # one public and one private answer: refused
    "metadata.test": ["169.254.169.254"],
    "v6-loopback.test": ["::1"],
    "cgnat.test": ["100.64.0.1"],
    "public.test": ["127.0.0.1"],  # only reachable where a test pretends 127.0.0.1 is public
}


def _resolve(host: str, port: int) -> list[str]:
    try:
        return NAMES[host]
    except KeyError:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None


# --- nothing may leave loopback -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def dialed(monkeypatch: pytest.MonkeyPatch) -> Dialed:
    """Records every outgoing connection and fails the test on any that would leave loopback."""
    return guard_loopback(monkeypatch)


# --- the app: one per module, so that "nothing stored" accumulates over the whole corpus ----------------------


@dataclass
class Target:
    client: TestClient
    services: Services
    settings: Settings

    def assert_nothing_stored(self) -> None:
        counts = self.services.store.counts_by_status()
        assert sum(counts.values()) == 0, f"jobs were stored: {counts}"
        for directory in (self.settings.media_dir, self.settings.work_dir):
            files = [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []
            assert files == [], f"files were left under {directory}: {files[:5]}"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("hostile") / "data",
        api_keys=TEST_KEY,
        public_url="http://testserver",
        allow_private_urls=False,
        fetch_timeout_s=5.0,
    )
    assert settings.max_request_bytes == MAX_REQUEST_BYTES
    services = build_services(settings)
    services.fetcher = UrlFetcher(allow_private=False, timeout_s=5.0, resolver=_resolve)
    with TestClient(create_app(settings, services=services), raise_server_exceptions=False) as client:
        yield Target(client=client, services=services, settings=settings)
    services.store.close()


# --- the create routes ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    path: str
    dialect: str  # aimlapi | minimax | openai
    multipart: bool = False

    @property
    def json(self) -> bool:
        return not self.multipart

    def image_field(self, *, url: bool) -> str:
        """The wire name an error about the image must carry."""
        if self.dialect != "openai":
            return "first_frame_image"
        if self.multipart:
            return "input_reference[image_url]" if url else "input_reference"
        return "input_reference.image_url"

    def fields(self, *, prompt: str = "she smiles and the camera slowly zooms in") -> dict[str, Any]:
        """The valid text fields of a create, without the image."""
        if self.dialect == "aimlapi":
            return {"model": "video-01-live2d", "prompt": prompt, "duration": 1.0}
        if self.dialect == "minimax":
            return {"model": "I2V-01-live", "prompt": prompt}
        return {"prompt": prompt, "seconds": "4"}

    def create(
        self, client: TestClient, *, image: bytes | str, callback_url: str | None = None, **extra: Any
    ) -> Any:
        """POST a create whose image is `image` (bytes: inline or uploaded; str: a URL)."""
        fields = {**self.fields(), **extra}
        if callback_url is not None:
            fields["callback_url"] = callback_url
        if self.multipart:
            parts: list[tuple[str, tuple[str | None, bytes | str] | tuple[str, bytes, str]]] = [
                (name, (None, str(value))) for name, value in fields.items()
            ]
            if isinstance(image, bytes):
                parts.append(("input_reference", ("frame.png", image, "application/octet-stream")))
            else:
                parts.append(("input_reference[image_url]", (None, image)))
            return client.post(self.path, files=parts, headers=AUTH)
        text = f"data:image/png;base64,{b64(image)}" if isinstance(image, bytes) else image
        if self.dialect == "openai":
            fields["input_reference"] = {"image_url": text}
        else:
            fields["first_frame_image"] = text
        return client.post(self.path, json=fields, headers=AUTH)

    def post_raw(self, client: TestClient, content: Any, *, content_type: str | None) -> Any:
        headers = dict(AUTH)
        if content_type is not None:
            headers["Content-Type"] = content_type
        return client.post(self.path, content=content, headers=headers)


ROUTES = [
    Route("aiml-seed", "/v2/generate/video/minimax/generation", "aimlapi"),
    Route("aiml-unified", "/v2/video/generations", "aimlapi"),
    Route("minimax", minimax.CREATE_PATH, "minimax"),
    Route("openai-json", "/v1/videos", "openai"),
    Route("openai-multipart", "/v1/videos", "openai", multipart=True),
]
JSON_ROUTES = [route for route in ROUTES if route.json]


def _ids(routes: list[Route]) -> list[str]:
    return [route.name for route in routes]


def refused(route: Route, response: Any, field_name: str, *, status: int = 400, mentions: tuple[str, ...] = ()) -> str:
    """Check `response` is the dialect's refusal naming `field_name`; returns the message."""
    if route.dialect == "aimlapi":
        message: str = assert_aiml_error(response, status)["message"]
    elif route.dialect == "minimax":
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["task_id"] == ""
        assert body["base_resp"]["status_code"] == minimax.INVALID_PARAMS, body
        message = body["base_resp"]["status_msg"]
    else:
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert error["param"] == field_name, error
        message = error["message"]
    assert f"`{field_name}`" in message, message
    for word in mentions:
        assert word in message, message
    return message


# --- images ---------------------------------------------------------------------------------------------------

BAD_IMAGES: list[tuple[str, Callable[[], bytes], str]] = [
    ("truncated-png", lambda: truncated(PNG), "truncated or corrupt"),
    ("truncated-jpeg", lambda: truncated(valid_jpeg()), "truncated or corrupt"),
    ("bomb-50000x50000", lambda: png_bomb(50_000, 50_000), "decompression-bomb guard"),
    ("bomb-8000x8000", lambda: png_bomb(8_000, 8_000), "decompression-bomb guard"),
    ("apng", apng, "animated PNG with 3 frames"),
    ("animated-gif", animated_gif, "a GIF image"),
    ("over-20-mb", lambda: oversized_png(MAX_IMAGE_BYTES + 1), f"at most 20 MB ({MAX_IMAGE_BYTES:,} bytes)"),
    ("empty", lambda: b"", "empty"),
    ("html", lambda: b"<!DOCTYPE html><html><body>not a picture</body></html>", "HTML"),
    ("png-signature-only", lambda: PNG[:8], "corrupt"),
]


@pytest.mark.parametrize(("name", "make", "rule"), BAD_IMAGES, ids=[case[0] for case in BAD_IMAGES])
@pytest.mark.parametrize("route", ROUTES, ids=_ids(ROUTES))
def test_bad_images_are_refused(route: Route, name: str, make: Callable[[], bytes], rule: str, target: Target) -> None:
    response = route.create(target.client, image=make())
    refused(route, response, route.image_field(url=False), mentions=(rule,))
    target.assert_nothing_stored()


# --- bodies ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=_ids(ROUTES))
def test_a_body_over_max_request_bytes_is_refused_by_its_declared_length(route: Route, target: Target) -> None:
    content_type = "multipart/form-data; boundary=x" if route.multipart else "application/json"
    response = route.post_raw(target.client, b" " * (MAX_REQUEST_BYTES + 1), content_type=content_type)
    refused(route, response, "body", status=413, mentions=(f"at most {MAX_REQUEST_BYTES} bytes",))
    target.assert_nothing_stored()


@pytest.mark.parametrize("route", ROUTES, ids=_ids(ROUTES))
def test_a_chunked_body_is_cut_off_past_max_request_bytes(route: Route, target: Target) -> None:
    chunk = b" " * (1 << 20)

    def body() -> Iterator[bytes]:  # no Content-Length: the server must count as it reads
        for _ in range(MAX_REQUEST_BYTES // len(chunk) + 2):
            yield chunk

    content_type = "multipart/form-data; boundary=x" if route.multipart else "application/json"
    response = route.post_raw(target.client, body(), content_type=content_type)
    # Spaces are JSON whitespace and a multipart preamble: neither parser objects, so only the cap stops them.
    refused(route, response, "body", status=413, mentions=(f"exceeds {MAX_REQUEST_BYTES} bytes",))
    target.assert_nothing_stored()


def _many_keys(count: int) -> dict[str, int]:
    return {f"k{index}": index for index in range(count)}


@pytest.mark.parametrize("route", JSON_ROUTES, ids=_ids(JSON_ROUTES))
def test_json_with_many_keys_is_refused(route: Route, target: Target) -> None:
    response = route.post_raw(target.client, json.dumps(_many_keys(50_000)), content_type="application/json")
    # Refused by its shape, before it is parsed: a create has a dozen fields.
    refused(route, response, "body", mentions=("more than 1000 keys",))
    target.assert_nothing_stored()


@pytest.mark.parametrize("route", JSON_ROUTES, ids=_ids(JSON_ROUTES))
def test_an_image_field_holding_many_keys_is_refused(route: Route, target: Target) -> None:
    body: dict[str, Any] = route.fields()
    many = _many_keys(1_000)  # as many as one object may have
    if route.dialect == "openai":
        body["input_reference"] = {"image_url": many}
        field_name = "input_reference.image_url"
    else:
        body["first_frame_image"] = many
        field_name = "first_frame_image"
    response = route.post_raw(target.client, json.dumps(body), content_type="application/json")
    refused(route, response, field_name, mentions=("must be a string",))
    target.assert_nothing_stored()


@pytest.mark.parametrize("route", ROUTES, ids=_ids(ROUTES))
def test_a_30_mb_prompt_is_refused(route: Route, target: Target) -> None:
    response = route.create(target.client, image=PNG, prompt="a" * (30 * 1024 * 1024))
    refused(route, response, "prompt", mentions=("at most",))
    target.assert_nothing_stored()


@pytest.mark.parametrize("route", JSON_ROUTES, ids=_ids(JSON_ROUTES))
def test_a_30_mb_image_string_is_refused(route: Route, target: Target) -> None:
    response = route.create(target.client, image="QUJD" * (30 * 1024 * 1024 // 4))
    refused(route, response, route.image_field(url=True), mentions=("at most 20 MB",))
    target.assert_nothing_stored()


@pytest.mark.parametrize("route", JSON_ROUTES, ids=_ids(JSON_ROUTES))
def test_json_nested_100000_levels_deep_is_refused(route: Route, target: Target) -> None:
    depth = 100_000
    body = '{"prompt": ' + "[" * depth + "]" * depth + "}"
    response = route.post_raw(target.client, body, content_type="application/json")
    refused(route, response, "body", mentions=("nested too deeply",))
    target.assert_nothing_stored()


INVALID_UTF8 = b'{"model": "video-01-live2d", "prompt": "caf\xe9 \xff\xfe", "first_frame_image": "x"}'


@pytest.mark.parametrize("route", JSON_ROUTES, ids=_ids(JSON_ROUTES))
def test_invalid_utf8_json_is_refused(route: Route, target: Target) -> None:
    response = route.post_raw(target.client, INVALID_UTF8, content_type="application/json; charset=utf-8")
    refused(route, response, "body", mentions=("UTF-8",))
    target.assert_nothing_stored()


def _multipart(parts: list[tuple[str, bytes, str | None]], boundary: str = "hostile") -> tuple[bytes, str]:
    """A multipart body by hand (so that it can carry bytes no client library would send)."""
    chunks: list[bytes] = []
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        chunks.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def test_invalid_utf8_in_a_multipart_text_field_is_refused(target: Target) -> None:
    route = ROUTES[-1]
    body, content_type = _multipart([("prompt", b"caf\xe9 \xff\xfe", None), ("input_reference", PNG, "frame.png")])
    response = route.post_raw(target.client, body, content_type=content_type)
    refused(route, response, "prompt", mentions=("UTF-8",))
    target.assert_nothing_stored()


MULTIPART_ABUSE: list[tuple[str, Callable[[], tuple[bytes, str]], str, str]] = [
    ("no-boundary", lambda: (b"--x\r\n", "multipart/form-data"), "body", "boundary"),
    ("garbage", lambda: (b"not multipart at all", "multipart/form-data; boundary=B"), "body", "multipart"),
    (
        "two-files",
        lambda: _multipart([("prompt", b"hi", None), ("input_reference", PNG, "a.png"), ("other", PNG, "b.png")]),
        "body",
        "Too many files",
    ),
    (
        "many-fields",
        lambda: _multipart([(f"f{index}", b"1", None) for index in range(10_000)]),
        "body",
        "Too many fields",
    ),
    (
        "file-and-url",
        lambda: _multipart(
            [("prompt", b"hi", None), ("input_reference", PNG, "a.png"),
             ("input_reference[image_url]", b"https://images.example/a.png", None)]
        ),
        "input_reference",
        "sent twice",
    ),
    ("no-name", lambda: (b'--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--\r\n',
                         "multipart/form-data; boundary=B"), "body", "name"),
]


@pytest.mark.parametrize(
    ("name", "make", "field_name", "rule"), MULTIPART_ABUSE, ids=[case[0] for case in MULTIPART_ABUSE]
)
def test_malformed_multipart_is_refused(
    name: str, make: Callable[[], tuple[bytes, str]], field_name: str, rule: str, target: Target
) -> None:
    route = ROUTES[-1]
    body, content_type = make()
    response = route.post_raw(target.client, body, content_type=content_type)
    refused(route, response, field_name, mentions=(rule,))
    target.assert_nothing_stored()


NOT_JSON_BODIES: list[tuple[str, bytes, str | None, str]] = [
    ("form-urlencoded", b"model=video-01-live2d&prompt=hi", "application/x-www-form-urlencoded", "valid JSON"),
    ("xml", b"<request><prompt>hi</prompt></request>", "application/xml", "valid JSON"),
    ("multipart-body", b"--B\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nhi\r\n--B--\r\n",
     "multipart/mixed; boundary=B", "valid JSON"),
    ("empty", b"", "application/json", "valid JSON"),
    ("array", b"[1, 2, 3]", "application/json", "JSON object"),
    ("string", b'"first_frame_image"', "application/json", "JSON object"),
    ("null", b"null", None, "JSON object"),
    ("nan", b'{"model": NaN', "application/json", "valid JSON"),
]


@pytest.mark.parametrize(
    ("name", "content", "content_type", "rule"), NOT_JSON_BODIES, ids=[case[0] for case in NOT_JSON_BODIES]
)
@pytest.mark.parametrize("route", [r for r in JSON_ROUTES if r.dialect != "openai"], ids=_ids(JSON_ROUTES[:3]))
def test_bodies_that_are_not_a_json_object_are_refused(
    route: Route, name: str, content: bytes, content_type: str | None, rule: str, target: Target
) -> None:
    response = route.post_raw(target.client, content, content_type=content_type)
    refused(route, response, "body", mentions=(rule,))
    target.assert_nothing_stored()


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded", "image/png"]
)
def test_openai_names_the_content_type_it_does_not_take(content_type: str, target: Target) -> None:
    route = ROUTES[-1]
    response = route.post_raw(target.client, PNG, content_type=content_type)
    refused(route, response, "Content-Type", mentions=(repr(content_type),))
    target.assert_nothing_stored()


# --- SSRF: image URLs and callback URLs ----------------------------------------------------------------------

LONG_PATH = "/" + "a" * 60_000  # long, yet under the 64 KiB httpx parses

# (URL, a phrase the refusal must contain). None of these may be dialed.
SSRF_URLS: list[tuple[str, str]] = [
    ("http://127.0.0.1/frame.png", "a loopback address"),
    ("http://localhost:8000/frame.png", "a loopback address"),
    ("http://[::1]/frame.png", "a loopback address"),
    ("http://[::ffff:127.0.0.1]/frame.png", "a loopback address"),
    ("http://[::ffff:7f00:1]:6379/", "a loopback address"),
    ("http://[fd00::1]/frame.png", "a private address"),
    ("http://[fe80::1]/frame.png", "a link-local address"),
    ("http://[64:ff9b::7f00:1]/", "a loopback address"),
    ("http://2130706433/frame.png", "is 127.0.0.1, a loopback address"),
    ("http://0177.0.0.1/frame.png", "not a valid URL (Invalid IPv4 address: '0177.0.0.1')"),  # httpx refuses it
    ("http://0x7f.1/frame.png", "is 127.0.0.1, a loopback address"),
    ("http://127.1/frame.png", "is 127.0.0.1, a loopback address"),
    ("http://0/frame.png", "an unspecified address"),
    ("http://10.0.0.7/frame.png", "a private address"),
    ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
    ("http://private.test/frame.png", "resolves to 10.0.0.7, a private address"),
    ("http://mixed.test/frame.png", "resolves to 192.168.1.10, a private address"),
    ("http://metadata.test/latest/", "a cloud metadata address"),
    ("http://v6-loopback.test/frame.png", "resolves to ::1, a loopback address"),
    ("http://cgnat.test/frame.png", "carrier-grade NAT"),
    ("file:///etc/passwd", "'file' is not allowed"),
    ("gopher://127.0.0.1:6379/_FLUSHALL", "'gopher' is not allowed"),
    ("ftp://files.example/frame.png", "'ftp' is not allowed"),
    ("dict://127.0.0.1:11211/stats", "'dict' is not allowed"),
    ("http://user:secret@images.example/frame.png", "credentials"),
    ("http://images.example@127.0.0.1/frame.png", "credentials"),
    ("http://127.0.0.1" + LONG_PATH, "a loopback address"),
    ("https://images.example/" + "a" * 70_000, "not a valid URL (URL too long)"),
]
SSRF_IDS = [url[:48] for url, _rule in SSRF_URLS]


@pytest.mark.parametrize(("url", "rule"), SSRF_URLS, ids=SSRF_IDS)
@pytest.mark.parametrize("route", ROUTES, ids=_ids(ROUTES))
def test_ssrf_image_urls_are_refused(route: Route, url: str, rule: str, target: Target, dialed: Dialed) -> None:
    response = route.create(target.client, image=url)
    refused(route, response, route.image_field(url=True), mentions=(rule,))
    assert dialed.addresses == []
    target.assert_nothing_stored()


CALLBACK_URLS = [(url, rule) for url, rule in SSRF_URLS if len(url) < 2048] + [
    ("http://127.0.0.1" + LONG_PATH, "at most 2048 characters"),
    ("https://hooks.example" + LONG_PATH, "at most 2048 characters"),
]


@pytest.mark.parametrize(("url", "rule"), CALLBACK_URLS, ids=[url[:48] for url, _rule in CALLBACK_URLS])
@pytest.mark.parametrize("route", ROUTES, ids=_ids(ROUTES))
def test_ssrf_callback_urls_are_refused(route: Route, url: str, rule: str, target: Target, dialed: Dialed) -> None:
    response = route.create(target.client, image=PNG, callback_url=url)
    refused(route, response, "callback_url", mentions=(rule,))
    assert dialed.addresses == []  # MiniMax's verification POST never started either
    target.assert_nothing_stored()


# --- SSRF: redirects --------------------------------------------------------------------------------------------


@dataclass
class LoopbackServer:
    host: str
    port: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


def _handler(state: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self) -> None:
            state.requests.append((self.command, self.path))
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            if "to" in query:
                self.send_response(302)
                self.send_header("Location", query["to"])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)  # the redirect target: it must never be asked
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

        do_GET = _answer
        do_POST = _answer

    return Handler


def _serve(state: LoopbackServer) -> Iterator[LoopbackServer]:
    server = ThreadingHTTPServer((state.host, 0), _handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def redirector() -> Iterator[LoopbackServer]:
    yield from _serve(LoopbackServer("127.0.0.1"))


@pytest.fixture
def inner() -> Iterator[LoopbackServer]:
    """A server on another loopback address, standing for something inside the network."""
    yield from _serve(LoopbackServer("127.0.0.2"))


@pytest.fixture
def public_redirector(monkeypatch: pytest.MonkeyPatch) -> None:
    """The only server a test may reach is on loopback, so the guard is told that exactly 127.0.0.1 is public;
    every other address is judged by the real rules (allow_private=False)."""
    real_refusal = fetch_module._refusal
    pretend_public = ipaddress.ip_address("127.0.0.1")

    def refusal(address: fetch_module.IPAddress, *, allow_private: bool) -> str | None:
        return None if address == pretend_public else real_refusal(address, allow_private=allow_private)

    monkeypatch.setattr(fetch_module, "_refusal", refusal)


def _redirect_targets(inner: LoopbackServer) -> list[tuple[str, str]]:
    return [
        (inner.url("/frame.png"), "host '127.0.0.2' is 127.0.0.2, a loopback address"),
        (f"http://2130706434:{inner.port}/frame.png", "is 127.0.0.2, a loopback address"),
        (f"http://[::ffff:127.0.0.2]:{inner.port}/frame.png", "a loopback address"),
        (f"http://localhost:{inner.port}/frame.png", "a loopback address"),
        ("http://private.test/frame.png", "resolves to 10.0.0.7, a private address"),
        ("file:///etc/passwd", "'file' is not allowed"),
    ]


@pytest.mark.usefixtures("public_redirector")
@pytest.mark.parametrize("route", ROUTES, ids=_ids(ROUTES))
def test_image_url_redirects_into_loopback_are_refused(
    route: Route, redirector: LoopbackServer, inner: LoopbackServer, target: Target, dialed: Dialed
) -> None:
    public = f"http://public.test:{redirector.port}"
    # The first hop itself is fine: a URL without a redirect is fetched and the job is made (in a scratch app).
    for hop, (destination, rule) in enumerate(_redirect_targets(inner), start=1):
        url = f"{public}/r?to={urllib.parse.quote(destination, safe='')}"
        response = route.create(target.client, image=url)
        message = refused(route, response, route.image_field(url=True), mentions=(rule, "redirect 1 "))
        assert "?to=" not in message  # queries (which may hold secrets) stay out of messages
        assert len(redirector.requests) == hop
    assert inner.requests == []
    assert {address for address, _port in dialed.addresses} == {"127.0.0.1"}
    target.assert_nothing_stored()


@pytest.mark.usefixtures("public_redirector")
def test_a_public_first_hop_is_fetched(redirector: LoopbackServer, tmp_path: Path) -> None:
    """The control for the redirect test: with the same pretend-public server, a plain URL does work."""
    settings = Settings(data_dir=tmp_path / "data", api_keys=TEST_KEY, public_url="http://testserver")
    services = build_services(settings)
    services.fetcher = UrlFetcher(allow_private=False, timeout_s=5.0, resolver=_resolve)
    with TestClient(create_app(settings, services=services)) as client:
        response = ROUTES[0].create(client, image=f"http://public.test:{redirector.port}/frame.png")
    assert response.status_code == 200, response.text
    assert sum(services.store.counts_by_status().values()) == 1
    services.store.close()


@pytest.mark.usefixtures("public_redirector")
def test_minimax_callback_verification_does_not_follow_redirects(
    redirector: LoopbackServer, inner: LoopbackServer, target: Target
) -> None:
    route = ROUTES[2]
    callback = redirector.url("/hook?to=" + urllib.parse.quote(inner.url("/hook"), safe=""))
    callback = callback.replace("127.0.0.1", "public.test")
    response = route.create(target.client, image=PNG, callback_url=callback)
    refused(route, response, "callback_url", mentions=("HTTP 302",))
    assert [method for method, _path in redirector.requests] == ["POST"]
    assert inner.requests == []
    target.assert_nothing_stored()


# --- awkward but valid images: accepted, never a 5xx, and the picture survives ---------------------------------

AWKWARD_IMAGES: list[tuple[str, Callable[[], bytes]]] = [
    ("cmyk-jpeg", cmyk_jpeg),
    ("16-bit-png", sixteen_bit_png),
    ("grey-alpha-png", grey_alpha_png),
]


@pytest.mark.parametrize(("name", "make"), AWKWARD_IMAGES, ids=[case[0] for case in AWKWARD_IMAGES])
@pytest.mark.parametrize("route", ROUTES, ids=_ids(ROUTES))
def test_awkward_but_valid_images_are_accepted_and_keep_their_picture(
    route: Route, name: str, make: Callable[[], bytes], tmp_path: Path
) -> None:
    """CMYK JPEGs, 16-bit PNGs and grey+alpha PNGs are within the hosted API's rules (JPG/PNG), so they are
    taken, not refused; what matters is that no conversion on the way clips or blanks them."""
    settings = Settings(data_dir=tmp_path / "data", api_keys=TEST_KEY, public_url="http://testserver")
    services = build_services(settings)
    with TestClient(create_app(settings, services=services)) as client:
        response = route.create(client, image=make())
    if route.dialect == "minimax":
        assert response.json()["base_resp"]["status_code"] == 0, response.text
        job_id = response.json()["task_id"]
    else:
        assert response.status_code == 200, response.text
        body = response.json()
        job_id = body.get("generation_id") or body.get("id")
        job_id = job_id.removeprefix("video_")
    pixels = decode_image(services.store.load_input(job_id))  # (H, W, 3) uint8, as the engine will see it
    services.store.close()
    # A gradient survives: a clipped (white) or zeroed conversion would leave almost no spread.
    assert float(np.std(pixels)) > 20.0, f"{name}: the stored picture lost its content"
    assert 30.0 < float(np.mean(pixels)) < 225.0
