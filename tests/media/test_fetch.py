"""The SSRF guard, against a real HTTP(S) server on 127.0.0.1. Nothing here may leave loopback.

Made-up names (`good.test`, `evil.test`) reach the server through the injected resolver. A connection
can only ever go to loopback: an autouse fixture fails any test that dials or resolves anything else.
"""

from __future__ import annotations

import io
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from stillmotion import __version__
from stillmotion.domain.errors import InvalidInput
from stillmotion.media import fetch as fetch_module
from stillmotion.media.fetch import UrlFetcher
from stillmotion.media.intake import decode_first_frame
from support_network import Dialed, guard_loopback


def make_png(width: int = 320, height: int = 320) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


IMAGE = make_png()


# --- guard: nothing leaves loopback -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def dialed(monkeypatch: pytest.MonkeyPatch) -> Dialed:
    """Records every outgoing connection and fails the test on any that would leave loopback."""
    return guard_loopback(monkeypatch, resolvable={"localhost"})


# --- the server -------------------------------------------------------------------------------------


@dataclass
class ServerState:
    port: int = 0
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)  # TLS SNI, as the server saw it
    release: threading.Event = field(default_factory=threading.Event)  # ends stalls at teardown
    streamed_bytes: int = 0
    stream_ended: threading.Event = field(default_factory=threading.Event)

    @property
    def paths(self) -> list[str]:
        return [path for path, _headers in self.requests]


def make_handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            state.requests.append((self.path, dict(self.headers.items())))
            parsed = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parsed.query))
            route = parsed.path
            if route == "/image.png":
                self.reply(200, IMAGE, content_type="image/png")
            elif route == "/page.html":
                self.reply(200, b"<!DOCTYPE html><html><body>hello</body></html>", content_type="text/html")
            elif route == "/missing":
                self.reply(404, b"not found")
            elif route == "/broken":
                self.reply(500, b"oops")
            elif route == "/redirect":
                self.redirect(query["to"], status=int(query.get("status", "302")))
            elif route == "/redirect-without-location":
                self.reply(302, b"")
            elif route.startswith("/chain/"):
                left = int(route.removeprefix("/chain/"))
                self.redirect(f"/chain/{left - 1}" if left > 0 else "/image.png")
            elif route.startswith("/slow-chain/"):
                state.release.wait(0.4)
                left = int(route.removeprefix("/slow-chain/"))
                self.redirect(f"/slow-chain/{left - 1}" if left > 0 else "/image.png")
            elif route == "/loop":
                self.redirect("/loop")
            elif route == "/stall":
                state.release.wait(10)
            elif route == "/drip":
                self.drip()
            elif route == "/endless":
                self.endless(chunked=query.get("chunked") == "1")
            elif route == "/lying-length":
                self.send_response(200)
                self.send_header("Content-Length", str(10**9))
                self.end_headers()
                state.release.wait(10)
            else:
                self.reply(404, b"no such route")

        def reply(self, status: int, body: bytes, *, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def redirect(self, location: str, *, status: int = 302) -> None:
            self.send_response(status)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def drip(self) -> None:
            # A byte every 50 ms: no single read ever waits long, so only an overall deadline stops it.
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                while not state.release.wait(0.05):
                    self.wfile.write(b"x")
                    self.wfile.flush()
            except OSError:
                pass

        def endless(self, *, chunked: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Connection", "close")  # body ends when the connection does
            self.end_headers()
            block = b"\x89PNG" + b"\0" * (64 * 1024 - 4)
            try:
                while state.streamed_bytes < 200 * 1024 * 1024 and not state.release.is_set():
                    payload = b"%x\r\n%b\r\n" % (len(block), block) if chunked else block
                    self.wfile.write(payload)
                    state.streamed_bytes += len(block)
            except OSError:
                pass  # the client hung up, which is the point
            finally:
                state.stream_ended.set()
                self.close_connection = True

    return Handler



def serve(state: ServerState, *, tls: ssl.SSLContext | None = None) -> Iterator[ServerState]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def server() -> Iterator[ServerState]:
    yield from serve(ServerState())


def resolver_for(mapping: dict[str, list[str]], calls: list[str] | None = None) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        try:
            return mapping[host]
        except KeyError:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None

    return resolve


def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host!r} must be judged as an IP literal, without any lookup")


def local_fetcher(**options: Any) -> UrlFetcher:
    """`good.test` is this machine; the operator allowed private addresses so that tests can connect."""
    options.setdefault("resolver", resolver_for({"good.test": ["127.0.0.1"]}))
    options.setdefault("allow_private", True)
    options.setdefault("timeout_s", 5.0)
    return UrlFetcher(**options)


def refusal(call: Callable[[], object]) -> str:
    with pytest.raises(InvalidInput) as excinfo:
        call()
    assert excinfo.value.field == "first_frame_image"
    assert excinfo.value.status_code == 400
    return excinfo.value.rule


# --- loopback and private addresses ---------------------------------------------------------------------


def test_loopback_server_is_refused_by_default(server: ServerState, dialed: Dialed) -> None:
    rule = refusal(lambda: UrlFetcher().fetch(f"http://127.0.0.1:{server.port}/image.png"))
    assert rule == "host '127.0.0.1' is 127.0.0.1, a loopback address, which is not allowed"
    assert server.requests == [] and dialed.addresses == []


def test_loopback_server_is_reached_when_private_addresses_are_allowed(server: ServerState) -> None:
    fetcher = UrlFetcher(allow_private=True, timeout_s=5.0)
    assert fetcher.fetch(f"http://127.0.0.1:{server.port}/image.png") == IMAGE


def test_name_resolving_to_loopback_is_refused(server: ServerState, dialed: Dialed) -> None:
    fetcher = UrlFetcher(resolver=resolver_for({"good.test": ["127.0.0.1"]}))
    rule = refusal(lambda: fetcher.fetch(f"http://good.test:{server.port}/image.png"))
    assert rule == "host 'good.test' resolves to 127.0.0.1, a loopback address, which is not allowed"
    assert dialed.addresses == []


def test_localhost_through_the_system_resolver_is_refused(dialed: Dialed) -> None:
    hosts = Path("/etc/hosts")
    if not hosts.exists() or "localhost" not in hosts.read_text():
        pytest.skip("localhost is not in /etc/hosts; resolving it could leave this machine")
    rule = refusal(lambda: UrlFetcher().fetch("http://localhost/image.png"))
    assert rule.startswith("host 'localhost' resolves to ") and "a loopback address" in rule
    assert dialed.addresses == []


def test_private_name_is_refused_before_any_connection(dialed: Dialed) -> None:
    calls: list[str] = []
    fetcher = UrlFetcher(resolver=resolver_for({"evil.test": ["10.0.0.1"]}, calls))
    rule = refusal(lambda: fetcher.fetch("http://evil.test/cat.png"))
    assert rule == "host 'evil.test' resolves to 10.0.0.1, a private address, which is not allowed"
    assert calls == ["evil.test"] and dialed.addresses == []


def test_one_bad_address_among_good_ones_is_enough_to_refuse(dialed: Dialed) -> None:
    fetcher = UrlFetcher(resolver=resolver_for({"mixed.test": ["93.184.215.14", "192.168.1.10"]}))
    rule = refusal(lambda: fetcher.fetch("https://mixed.test/cat.png"))
    assert "resolves to 192.168.1.10, a private address" in rule
    assert dialed.addresses == []


def test_name_resolving_to_ipv4_mapped_loopback_is_refused() -> None:
    fetcher = UrlFetcher(resolver=resolver_for({"sneaky.test": ["::ffff:127.0.0.1"]}))
    rule = refusal(lambda: fetcher.fetch("http://sneaky.test/"))
    assert "(IPv4 127.0.0.1), a loopback address, which is not allowed" in rule


@pytest.mark.parametrize(
    ("url", "address", "kind"),
    [
        ("http://2130706433/", "127.0.0.1", "a loopback address"),
        ("http://0x7f.1/", "127.0.0.1", "a loopback address"),
        ("http://0x7f000001/", "127.0.0.1", "a loopback address"),
        ("http://0177.1/", "127.0.0.1", "a loopback address"),
        ("http://127.1/", "127.0.0.1", "a loopback address"),
        ("http://127.0.0.1./", "127.0.0.1", "a loopback address"),
        ("http://[::1]/", "::1", "a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1 (IPv4 127.0.0.1)", "a loopback address"),
        ("http://[0:0:0:0:0:ffff:7f00:1]:8080/", "::ffff:7f00:1 (IPv4 127.0.0.1)", "a loopback address"),
        ("http://167772161/", "10.0.0.1", "a private address"),
        ("http://172.16.0.1/", "172.16.0.1", "a private address"),
        ("http://192.168.0.1/", "192.168.0.1", "a private address"),
        ("http://[fd00::1]/", "fd00::1", "a private address"),
        ("http://100.64.0.1/", "100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("http://169.254.1.1/", "169.254.1.1", "a link-local address"),
        ("http://[fe80::1]/", "fe80::1", "a link-local address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "a cloud metadata address"),
        ("http://0.0.0.0/", "0.0.0.0", "an unspecified address"),
        ("http://0/", "0.0.0.0", "an unspecified address"),
        ("http://[::]/", "::", "an unspecified address"),
        ("http://224.0.0.1/", "224.0.0.1", "a multicast address"),
        ("http://240.0.0.1/", "240.0.0.1", "a reserved address"),
        ("http://[2002:7f00:1::1]/", "2002:7f00:1::1", "a loopback address (it embeds IPv4 127.0.0.1)"),
        ("http://[64:ff9b::a00:1]/", "64:ff9b::a00:1 (NAT64 for IPv4 10.0.0.1)", "a private address"),
    ],
)
def test_ip_literals_in_any_spelling_are_judged_as_the_address_they_mean(
    url: str, address: str, kind: str, dialed: Dialed
) -> None:
    host = urllib.parse.urlsplit(url).hostname
    assert host is not None
    rule = refusal(lambda: UrlFetcher(resolver=no_dns).fetch(url))
    assert rule == f"host {host.removesuffix('.')!r} is {address}, {kind}, which is not allowed"
    assert dialed.addresses == []


@pytest.mark.parametrize(
    "url",
    [
        "http://0.0.0.0/",
        "http://[::]/",
        "http://224.0.0.1/",
        "http://[ff02::1]/",
        "http://169.254.169.254/",
        "http://[fd00:ec2::254]/",
        "http://240.0.0.1/",
    ],
)
def test_some_addresses_stay_refused_even_when_private_ones_are_allowed(url: str, dialed: Dialed) -> None:
    refusal(lambda: UrlFetcher(allow_private=True, resolver=no_dns).fetch(url))
    assert dialed.addresses == []


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://1.2.3.4.5/", "URL host '1.2.3.4.5' looks like an IPv4 address but is not a valid one"),
        ("http://08.1/", "URL host '08.1' looks like an IPv4 address but is not a valid one"),
        ("http://1.0x100.1/", "URL host '1.0x100.1' looks like an IPv4 address but is not a valid one"),
        ("http://4294967296/", "URL host '4294967296' looks like an IPv4 address but is not a valid one"),
        # httpx already refuses four-part forms it cannot read strictly (leading zeros, parts over 255)
        ("http://0177.0.0.1/", "is not a valid URL (Invalid IPv4 address: '0177.0.0.1')"),
        ("http://256.0.0.1/", "is not a valid URL (Invalid IPv4 address: '256.0.0.1')"),
        ("http://a..b/", "URL host 'a..b' is not a valid host name"),
        ("http:///image.png", "URL has no host"),
        ("http://good.test:99999/", "URL port 99999 is not a valid TCP port (1 .. 65535)"),
        ("http://user:secret@good.test/", "URL must not contain credentials (user:password@)"),
    ],
)
def test_malformed_hosts_are_refused_without_lookup(url: str, problem: str) -> None:
    assert refusal(lambda: UrlFetcher(resolver=no_dns).fetch(url)) == problem


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("file:///etc/passwd", "file"),
        ("gopher://127.0.0.1:6379/_INFO", "gopher"),
        ("ftp://example.com/cat.png", "ftp"),
        ("dict://127.0.0.1:11211/stats", "dict"),
    ],
)
def test_only_http_and_https_are_fetched(url: str, scheme: str, dialed: Dialed) -> None:
    rule = refusal(lambda: UrlFetcher(resolver=no_dns).fetch(url))
    assert rule == f"URL scheme {scheme!r} is not allowed; use http or https"
    assert dialed.addresses == []


def test_unresolvable_name_is_refused() -> None:
    rule = refusal(lambda: UrlFetcher(resolver=resolver_for({})).fetch("https://nowhere.test/cat.png"))
    assert rule.startswith("could not be fetched: host 'nowhere.test' did not resolve (")


# --- what is sent, and where it goes ------------------------------------------------------------------------


def test_request_carries_the_original_host_and_our_user_agent(server: ServerState) -> None:
    assert local_fetcher().fetch(f"http://good.test:{server.port}/image.png?size=large#top") == IMAGE
    [(path, headers)] = server.requests
    assert path == "/image.png?size=large"
    assert headers["Host"] == f"good.test:{server.port}"
    assert headers["User-Agent"] == f"stillmotion/{__version__}"
    assert headers["Accept-Encoding"] == "identity"


def test_connection_goes_to_the_checked_address_without_a_second_lookup(
    server: ServerState, dialed: Dialed
) -> None:
    answers = [["127.0.0.1"], ["169.254.169.254"]]  # a rebinding DNS server's second answer
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return answers[min(len(calls) - 1, 1)]

    assert local_fetcher(resolver=rebinding).fetch(f"http://good.test:{server.port}/image.png") == IMAGE
    assert calls == ["good.test"]
    assert dialed.addresses == [("127.0.0.1", server.port)]


def test_fetcher_plugs_into_decode_first_frame(server: ServerState) -> None:
    fetcher = local_fetcher()
    frame = decode_first_frame(f"http://good.test:{server.port}/image.png", fetch=fetcher.fetch)
    assert (frame.data, frame.format, frame.width, frame.height) == (IMAGE, "png", 320, 320)
    rule = refusal(lambda: decode_first_frame(f"http://good.test:{server.port}/page.html", fetch=fetcher.fetch))
    assert rule == "is an HTML page, not a JPG/JPEG or PNG image (format judged by its bytes)"


# --- status codes and redirects -------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "status"), [("/missing", 404), ("/broken", 500)])
def test_non_2xx_is_refused_naming_the_status(server: ServerState, path: str, status: int) -> None:
    rule = refusal(lambda: local_fetcher().fetch(f"http://good.test:{server.port}{path}?token=secret"))
    assert rule == f"could not be fetched: HTTP {status} from http://good.test:{server.port}{path}"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_followed(server: ServerState, status: int) -> None:
    url = f"http://good.test:{server.port}/redirect?status={status}&to=/image.png"
    assert local_fetcher().fetch(url) == IMAGE
    assert server.paths[-1] == "/image.png"


def test_redirect_to_an_absolute_url_is_followed(server: ServerState) -> None:
    target = urllib.parse.quote(f"http://good.test:{server.port}/image.png", safe="")
    assert local_fetcher().fetch(f"http://good.test:{server.port}/redirect?to={target}") == IMAGE


def test_exactly_max_redirects_is_fine(server: ServerState) -> None:
    assert local_fetcher(max_redirects=3).fetch(f"http://good.test:{server.port}/chain/2") == IMAGE
    assert len(server.requests) == 4  # three redirects, then the image


def test_too_many_redirects_are_refused(server: ServerState) -> None:
    rule = refusal(lambda: local_fetcher(max_redirects=3).fetch(f"http://good.test:{server.port}/loop"))
    assert rule == f"could not be fetched: more than 3 redirects from http://good.test:{server.port}/loop"
    assert server.paths == ["/loop"] * 4


def test_redirect_without_location_is_refused(server: ServerState) -> None:
    rule = refusal(lambda: local_fetcher().fetch(f"http://good.test:{server.port}/redirect-without-location"))
    assert "HTTP 302 redirect from" in rule and "has no Location" in rule


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("http://evil.test/", "host 'evil.test' resolves to 0.0.0.0, an unspecified address, which is not allowed"),
        ("http://169.254.169.254/latest/", "host '169.254.169.254' is 169.254.169.254, a cloud metadata address"),
        ("http://[ff02::1]/", "host 'ff02::1' is ff02::1, a multicast address"),
        ("file:///etc/passwd", "URL scheme 'file' is not allowed; use http or https"),
        ("gopher://good.test/_x", "URL scheme 'gopher' is not allowed; use http or https"),
    ],
)
def test_every_redirect_hop_is_checked_before_connecting(
    server: ServerState, dialed: Dialed, target: str, problem: str
) -> None:
    fetcher = local_fetcher(resolver=resolver_for({"good.test": ["127.0.0.1"], "evil.test": ["0.0.0.0"]}))
    url = f"http://good.test:{server.port}/redirect?to={urllib.parse.quote(target, safe='')}"
    rule = refusal(lambda: fetcher.fetch(url))
    assert rule.startswith("redirect 1 ") and problem in rule
    assert len(server.requests) == 1
    assert dialed.addresses == [("127.0.0.1", server.port)]


def test_redirect_into_the_private_network_is_refused_after_a_public_first_hop(
    server: ServerState, dialed: Dialed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The only server a test may reach is on loopback, so let this test's policy call exactly that one
    # address "public"; every other address is judged by the real rules with allow_private=False.
    real_refusal = fetch_module._refusal
    pretend_public = ipaddress.ip_address("127.0.0.1")

    def refusal_with_one_public_loopback(address: fetch_module.IPAddress, *, allow_private: bool) -> str | None:
        return None if address == pretend_public else real_refusal(address, allow_private=allow_private)

    monkeypatch.setattr(fetch_module, "_refusal", refusal_with_one_public_loopback)
    fetcher = UrlFetcher(resolver=resolver_for({"public.test": ["127.0.0.1"], "evil.test": ["10.0.0.1"]}))
    assert fetcher.fetch(f"http://public.test:{server.port}/image.png") == IMAGE  # the first hop is fine
    for target, problem in [
        ("http://evil.test/", "host 'evil.test' resolves to 10.0.0.1, a private address"),
        (f"http://127.0.0.2:{server.port}/image.png", "host '127.0.0.2' is 127.0.0.2, a loopback address"),
        (f"http://0x7f000002:{server.port}/image.png", "is 127.0.0.2, a loopback address"),
        ("http://[::1]/", "host '::1' is ::1, a loopback address"),
    ]:
        url = f"http://public.test:{server.port}/redirect?to={urllib.parse.quote(target, safe='')}"
        with pytest.raises(InvalidInput) as excinfo:
            fetcher.fetch(url)
        assert excinfo.value.rule.startswith("redirect 1 to ") and problem in excinfo.value.rule
    assert {address for address, _port in dialed.addresses} == {"127.0.0.1"}


# --- bytes and time ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True])
def test_body_without_length_stops_being_read_past_max_bytes(server: ServerState, chunked: bool) -> None:
    fetcher = local_fetcher(max_bytes=100_000)
    url = f"http://good.test:{server.port}/endless?chunked={int(chunked)}"
    rule = refusal(lambda: fetcher.fetch(url))
    assert rule == (
        f"download from http://good.test:{server.port}/endless passed the size limit and was stopped; "
        "at most 100,000 bytes is allowed"
    )
    assert server.stream_ended.wait(5)
    # The server gave up when we hung up: far below the 200 MB it would otherwise have sent.
    assert server.streamed_bytes < 50 * 1024 * 1024


def test_declared_length_over_the_limit_is_refused_before_reading(server: ServerState) -> None:
    rule = refusal(lambda: local_fetcher().fetch(f"http://good.test:{server.port}/lying-length"))
    assert rule == (
        "is 953.7 MB (1,000,000,000 bytes) according to the Content-Length from "
        f"http://good.test:{server.port}/lying-length; at most 20 MB (20,971,520 bytes) is allowed"
    )


def test_silent_server_times_out(server: ServerState) -> None:
    started = time.monotonic()
    rule = refusal(lambda: local_fetcher(timeout_s=0.5).fetch(f"http://good.test:{server.port}/stall"))
    assert rule == "could not be fetched: timed out after 0.5 s"
    assert time.monotonic() - started < 4  # bounded, not left to hang until the server gives up


def test_trickling_server_hits_the_overall_deadline(server: ServerState) -> None:
    started = time.monotonic()
    rule = refusal(lambda: local_fetcher(timeout_s=1.0).fetch(f"http://good.test:{server.port}/drip"))
    assert rule == "could not be fetched: timed out after 1 s"
    assert time.monotonic() - started < 4


def test_deadline_spans_all_redirect_hops(server: ServerState) -> None:
    # Each hop answers in 0.4 s, well within a per-request timeout; five of them are not.
    rule = refusal(lambda: local_fetcher(timeout_s=1.0).fetch(f"http://good.test:{server.port}/slow-chain/4"))
    assert rule == "could not be fetched: timed out after 1 s"
    assert len(server.requests) <= 3


def test_slow_dns_counts_against_the_deadline() -> None:
    def slow(host: str, port: int) -> list[str]:
        time.sleep(2)
        return ["127.0.0.1"]

    started = time.monotonic()
    rule = refusal(lambda: local_fetcher(resolver=slow, timeout_s=0.3).fetch("http://good.test/image.png"))
    assert rule == "could not be fetched: timed out after 0.3 s"
    assert time.monotonic() - started < 1.5


def test_closed_port_is_refused() -> None:
    with socket.socket() as probe:  # bound but never listening: connecting is refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        rule = refusal(lambda: local_fetcher().fetch(f"http://good.test:{port}/image.png"))
    assert rule.startswith(f"could not be fetched: connecting to good.test:{port} failed (")


# --- https -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for `good.test` only (openssl's CLI: no Python crypto dependency needed)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=good.test",
            "-addext", "subjectAltName=DNS:good.test",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[ServerState]:
    cert, key = certificate
    state = ServerState()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def record_server_name(_sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        state.server_names.append(name)

    context.sni_callback = record_server_name
    yield from serve(state, tls=context)


def trusting(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def test_https_uses_the_host_name_for_sni_and_certificate(
    tls_server: ServerState, certificate: tuple[Path, Path], dialed: Dialed
) -> None:
    fetcher = local_fetcher(ssl_context=trusting(certificate))
    assert fetcher.fetch(f"https://good.test:{tls_server.port}/image.png") == IMAGE
    assert tls_server.server_names == ["good.test"]
    assert tls_server.requests[0][1]["Host"] == f"good.test:{tls_server.port}"
    assert dialed.addresses == [("127.0.0.1", tls_server.port)]


def test_https_certificate_for_another_name_is_refused(
    tls_server: ServerState, certificate: tuple[Path, Path]
) -> None:
    fetcher = local_fetcher(
        ssl_context=trusting(certificate), resolver=resolver_for({"other.test": ["127.0.0.1"]})
    )
    rule = refusal(lambda: fetcher.fetch(f"https://other.test:{tls_server.port}/image.png"))
    assert rule.startswith(f"could not be fetched: connecting to other.test:{tls_server.port} failed (")
    assert "certificate" in rule.lower() or "hostname" in rule.lower()
    assert tls_server.requests == []


def test_https_to_an_ip_literal_checks_the_certificate_against_the_ip(
    tls_server: ServerState, certificate: tuple[Path, Path]
) -> None:
    fetcher = local_fetcher(ssl_context=trusting(certificate))
    rule = refusal(lambda: fetcher.fetch(f"https://127.0.0.1:{tls_server.port}/image.png"))
    assert "could not be fetched: connecting to 127.0.0.1" in rule
    assert tls_server.requests == []


def test_untrusted_certificate_is_refused_by_default(tls_server: ServerState) -> None:
    rule = refusal(lambda: local_fetcher().fetch(f"https://good.test:{tls_server.port}/image.png"))
    assert "certificate verify failed" in rule
