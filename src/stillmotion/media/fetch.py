"""Fetch a `first_frame_image` URL without letting it become a way into the server's own network (SSRF).

How the guard holds:

* The URL is parsed once (`httpx.URL`); only http and https, no credentials, a valid host and port.
* The host is resolved once, and *every* address it resolves to must be acceptable. Numeric hosts in
  the forms `inet_aton` and browsers accept (`2130706433`, `0x7f.1`, `127.1`, `0177.0.0.1`) are
  converted here, so they are judged as the address they mean and never reach a DNS resolver.
* The connection goes to exactly the addresses that were checked: httpcore is given a network backend
  that ignores the host name it is asked for and dials only those addresses, so a second DNS answer
  (DNS rebinding) has nothing to say. The request URL keeps the real host name, so the Host header,
  TLS SNI and certificate verification all use the name, exactly as for any other client. (The
  alternative, an `https://<ip>/` URL plus `sni_hostname`, also works in httpx, but puts the pinning
  in three separate places instead of one.) We call httpcore directly because httpx has no public
  way to give its transport a network backend; httpcore is the engine under httpx.
* Redirects are followed by hand, each hop checked like the first before anything connects.
* One deadline covers the whole fetch: DNS, every hop's connect, TLS handshake, each read and write
  (the backend clamps each socket timeout to what is left), so a server that trickles bytes cannot
  stretch it. The body is streamed and abandoned as soon as it passes `max_bytes`.
* Environment proxies are ignored on purpose: a proxy would resolve the name again itself.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import httpcore
import httpx

from stillmotion._version import __version__
from stillmotion.domain.errors import InvalidInput
from stillmotion.media.intake import FIELD, MAX_IMAGE_BYTES, describe_size

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
"""(host, port) -> the host's IP addresses as strings; the default uses `socket.getaddrinfo`."""

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_THIS_NETWORK: Final = ipaddress.IPv4Network("0.0.0.0/8")  # Linux dials 0.x as if it were this host
_SHARED_ADDRESS_SPACE: Final = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: a gateway maps these to IPv4
# Instance metadata services hand out cloud credentials; never a place for a user-supplied URL, even
# when the operator allows private addresses. (AWS/GCP/Azure/OCI, ECS, EKS pod identity, Alibaba,
# Azure's wire server, AWS IPv6.)
_CLOUD_METADATA: Final = frozenset(
    ipaddress.ip_address(text)
    for text in (
        "169.254.169.254",
        "169.254.170.2",
        "169.254.170.23",
        "100.100.100.200",
        "168.63.129.16",
        "fd00:ec2::254",
        "fd00:ec2::23",
    )
)
_IPV4_PART: Final = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")
_HOST_LABEL: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_MAX_URL_IN_MESSAGE: Final = 120


class UrlFetcher:
    """Server-side GET of an image URL. Every refusal or failure is `InvalidInput("first_frame_image", ...)`.

    `allow_private=True` lets URLs reach loopback, private and link-local addresses (an operator's own
    intranet); unspecified, multicast, reserved and cloud-metadata addresses stay refused regardless.
    `resolver` replaces DNS (tests map made-up names to loopback with it).
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        max_bytes: int = MAX_IMAGE_BYTES,
        timeout_s: float = 15.0,
        max_redirects: int = 5,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        if max_redirects < 0:
            raise ValueError(f"max_redirects must not be negative, got {max_redirects}")
        self._allow_private = allow_private
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s
        self._max_redirects = max_redirects
        self._resolver = resolver or _system_resolver
        # Built once: loading the CA bundle costs milliseconds we need not pay per request.
        self._ssl_context = ssl_context or httpx.create_ssl_context()
        self._headers: list[tuple[bytes, bytes]] = [
            (b"User-Agent", f"stillmotion/{__version__}".encode("ascii")),
            (b"Accept", b"image/png, image/jpeg;q=0.9, */*;q=0.1"),
            # Compressed bodies would need decompressing, which is how a small download becomes a bomb.
            (b"Accept-Encoding", b"identity"),
            (b"Connection", b"close"),
        ]

    def fetch(self, url: str) -> bytes:
        """The body of `url` (after at most `max_redirects` checked redirects), at most `max_bytes` long."""
        deadline = time.monotonic() + self._timeout_s
        first = current = _parse_url(url, context="")
        for hop in range(self._max_redirects + 1):
            context = "" if hop == 0 else f"redirect {hop} to {_shorten(current)}: "
            target = self._check(current, context=context, deadline=deadline)
            outcome = self._get(target, deadline=deadline)
            if isinstance(outcome, bytes):
                return outcome
            current = _parse_url(outcome, base=current, context=f"redirect {hop + 1} from {_shorten(current)}: ")
        raise InvalidInput(
            FIELD, f"could not be fetched: more than {self._max_redirects} redirects from {_shorten(first)}"
        )

    def check_url(self, url: str, *, field: str) -> None:
        """Refuse `url` (as `InvalidInput(field, ...)`) unless it is one `fetch` would connect to right now:
        used for URLs that are called later, such as a webhook's `callback_url`."""
        deadline = time.monotonic() + self._timeout_s
        try:
            self._check(_parse_url(url, context=""), context="", deadline=deadline)
        except InvalidInput as exc:
            raise InvalidInput(field, exc.rule, status_code=exc.status_code) from None

    def post(
        self,
        url: str,
        body: bytes,
        *,
        headers: dict[str, str],
        field: str,
        timeout_s: float | None = None,
        max_response_bytes: int = 64 * 1024,
    ) -> tuple[int, bytes]:
        """POST `body` to `url` through the same guard as `fetch` (checked and pinned addresses, one deadline);
        redirects are not followed. Returns (status, at most `max_response_bytes` of the answer). A refused URL or
        a failed connection is `InvalidInput(field, ...)`."""
        deadline = time.monotonic() + (timeout_s or self._timeout_s)
        try:
            target = self._check(_parse_url(url, context=""), context="", deadline=deadline)
        except InvalidInput as exc:
            raise InvalidInput(field, exc.rule, status_code=exc.status_code) from None
        target_url = target.url
        backend = _PinnedBackend(host=target.host, port=target.port, addresses=target.addresses, deadline=deadline)
        request_url = httpcore.URL(
            scheme=target_url.raw_scheme, host=target_url.raw_host, port=target_url.port, target=target_url.raw_path
        )
        sent = [
            (b"Host", target_url.netloc),
            (b"User-Agent", f"stillmotion/{__version__}".encode("ascii")),
            (b"Content-Length", str(len(body)).encode("ascii")),
            (b"Connection", b"close"),
            *((name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()),
        ]
        shown = _shorten(target_url)
        try:
            with (
                self._pool(backend) as pool,
                pool.stream("POST", request_url, headers=sent, content=body) as response,
            ):
                received = b""
                for chunk in response.iter_stream():
                    received += chunk
                    if len(received) >= max_response_bytes:
                        break
                return response.status, received[:max_response_bytes]
        except httpcore.TimeoutException:
            raise InvalidInput(field, f"did not answer within {timeout_s or self._timeout_s:g} s ({shown})") from None
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            raise InvalidInput(field, f"could not be reached: {type(exc).__name__} from {shown} ({exc})") from None

    def _pool(self, backend: httpcore.NetworkBackend) -> httpcore.ConnectionPool:
        return httpcore.ConnectionPool(
            ssl_context=self._ssl_context,
            max_connections=1,
            max_keepalive_connections=0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=backend,
        )

    # --- checking a hop ---------------------------------------------------------------------------

    def _check(self, url: httpx.URL, *, context: str, deadline: float) -> _Target:
        host = url.raw_host.decode("ascii")
        port = url.port or _DEFAULT_PORTS[url.scheme]
        literal = _parse_ip_literal(host, context=context)
        if literal is not None:
            addresses = [literal]
            verb = "is"
        else:
            addresses = self._resolve(host, port, context=context, deadline=deadline)
            verb = "resolves to"
        for address in addresses:
            kind = _refusal(address, allow_private=self._allow_private)
            if kind is not None:
                raise InvalidInput(
                    FIELD, f"{context}host {host!r} {verb} {_show(address)}, {kind}, which is not allowed"
                )
        return _Target(url=url, host=host, port=port, addresses=[_dialable(a) for a in addresses])

    def _resolve(self, host: str, port: int, *, context: str, deadline: float) -> list[IPAddress]:
        # getaddrinfo has no timeout of its own, so it runs on a daemon thread that we stop waiting for
        # at the deadline; a stuck lookup then only costs an idle thread until the OS gives up.
        outcome: list[list[str] | BaseException] = []

        def lookup() -> None:
            try:
                outcome.append(self._resolver(host, port))
            except BaseException as exc:  # handed to the caller's thread, which decides
                outcome.append(exc)

        thread = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
        thread.start()
        thread.join(max(0.0, deadline - time.monotonic()))
        if not outcome:
            raise self._timed_out()
        answer = outcome[0]
        if isinstance(answer, OSError | UnicodeError | ValueError):
            raise InvalidInput(FIELD, f"{context}could not be fetched: host {host!r} did not resolve ({answer})")
        if isinstance(answer, BaseException):
            raise answer
        if not answer:
            raise InvalidInput(FIELD, f"{context}could not be fetched: host {host!r} has no addresses")
        addresses: list[IPAddress] = []
        for text in dict.fromkeys(answer):  # de-duplicated, order kept (getaddrinfo's preference order)
            try:
                addresses.append(ipaddress.ip_address(text))
            except ValueError:
                raise InvalidInput(
                    FIELD, f"{context}host {host!r} resolves to {text!r}, which is not an IP address"
                ) from None
        return addresses

    # --- one request ------------------------------------------------------------------------------

    def _get(self, target: _Target, *, deadline: float) -> bytes | str:
        """The body of a 2xx answer, or the Location of a redirect (still to be checked)."""
        url = target.url
        backend = _PinnedBackend(host=target.host, port=target.port, addresses=target.addresses, deadline=deadline)
        request_url = httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)
        headers = [(b"Host", url.netloc), *self._headers]
        shown = _shorten(url)
        try:
            with (
                self._pool(backend) as pool,
                pool.stream("GET", request_url, headers=headers) as response,
            ):
                status = response.status
                if status in _REDIRECT_STATUSES:
                    location = _header(response.headers, b"location")
                    if location is None:
                        raise InvalidInput(
                            FIELD, f"could not be fetched: HTTP {status} redirect from {shown} has no Location"
                        )
                    return location
                if not 200 <= status < 300:
                    raise InvalidInput(FIELD, f"could not be fetched: HTTP {status} from {shown}")
                declared = _content_length(response.headers)
                if declared is not None and declared > self._max_bytes:
                    raise InvalidInput(
                        FIELD,
                        f"is {describe_size(declared)} according to the Content-Length from {shown}; "
                        f"at most {describe_size(self._max_bytes)} is allowed",
                    )
                return self._read_body(response, shown=shown)
        except httpcore.TimeoutException:
            raise self._timed_out() from None
        except httpcore.ConnectError as exc:
            raise InvalidInput(
                FIELD, f"could not be fetched: connecting to {target.host}:{target.port} failed ({exc})"
            ) from None
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            raise InvalidInput(FIELD, f"could not be fetched: {type(exc).__name__} from {shown} ({exc})") from None

    def _read_body(self, response: httpcore.Response, *, shown: str) -> bytes:
        chunks: list[bytes] = []
        received = 0
        for chunk in response.iter_stream():
            received += len(chunk)
            # Content-Length may lie or be absent (chunked, close-delimited): count what arrives.
            if received > self._max_bytes:
                raise InvalidInput(
                    FIELD,
                    f"download from {shown} passed the size limit and was stopped; at most "
                    f"{describe_size(self._max_bytes)} is allowed",
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _timed_out(self) -> InvalidInput:
        return InvalidInput(FIELD, f"could not be fetched: timed out after {self._timeout_s:g} s")


@dataclass(frozen=True)
class _Target:
    url: httpx.URL
    host: str  # as httpcore will name it when it asks to connect (IDNA-encoded, IPv6 without brackets)
    port: int
    addresses: Sequence[IPAddress]  # all checked; the only places a connection may go


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _parse_url(text: str, *, context: str, base: httpx.URL | None = None) -> httpx.URL:
    """`text` as an absolute URL (relative to `base`, for a Location header) that may be fetched."""
    try:
        url = httpx.URL(text) if base is None else base.join(text)
    except httpx.InvalidURL as exc:
        raise InvalidInput(FIELD, f"{context}is not a valid URL ({exc})") from None
    if url.scheme not in _DEFAULT_PORTS:
        shown = url.scheme or "(none)"
        raise InvalidInput(FIELD, f"{context}URL scheme {shown!r} is not allowed; use http or https")
    if url.userinfo:
        # Credentials would travel to whoever the host turns out to be, and `user@host` is a classic
        # way to make a URL look like it points somewhere else.
        raise InvalidInput(FIELD, f"{context}URL must not contain credentials (user:password@)")
    if not url.raw_host:
        raise InvalidInput(FIELD, f"{context}URL has no host")
    if url.port is not None and not 1 <= url.port <= 65535:
        raise InvalidInput(FIELD, f"{context}URL port {url.port} is not a valid TCP port (1 .. 65535)")
    host = url.raw_host.decode("ascii")
    if host.endswith(".") and ":" not in host:
        # "example.com." is the same host; without the dot, SNI and certificate matching behave.
        host = host[:-1]
        url = url.copy_with(host=host)
    if ":" not in host and not all(_HOST_LABEL.fullmatch(label) for label in host.split(".")):
        raise InvalidInput(FIELD, f"{context}URL host {host!r} is not a valid host name")
    return url


def _parse_ip_literal(host: str, *, context: str) -> IPAddress | None:
    """The address a numeric host means, read the way `inet_aton` (and so getaddrinfo) reads it.

    `127.1`, `0x7f.0.0.1`, `0177.0.0.1` and `2130706433` all mean 127.0.0.1. Names give None.
    """
    if ":" in host:
        try:
            return ipaddress.ip_address(host)
        except ValueError:
            raise InvalidInput(FIELD, f"{context}URL host {host!r} is not a valid IPv6 address") from None
    parts = host.split(".")
    if not all(_IPV4_PART.fullmatch(part) for part in parts):
        return None
    invalid = InvalidInput(FIELD, f"{context}URL host {host!r} looks like an IPv4 address but is not a valid one")
    try:
        values = [_ipv4_part_value(part) for part in parts]
    except ValueError:
        raise invalid from None
    if len(values) > 4 or any(value > 255 for value in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise invalid
    number = values[-1]
    for index, value in enumerate(values[:-1]):
        number += value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def _ipv4_part_value(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)  # ValueError on 8 or 9, as inet_aton refuses them
    return int(part)


def _refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """None if a URL may reach `address`, else what kind of address it is ("a loopback address")."""
    if address in _CLOUD_METADATA:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        # IPv6 spellings of IPv4 hosts: judged as the IPv4 host they reach.
        if address.ipv4_mapped is not None:
            return _refusal(address.ipv4_mapped, allow_private=allow_private)
        if address in _NAT64:
            return _refusal(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), allow_private=allow_private)
        embedded = address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            kind = _refusal(embedded, allow_private=allow_private)
            if kind is not None:
                return f"{kind} (it embeds IPv4 {embedded})"
    if address.is_unspecified or address in _THIS_NETWORK:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_loopback:
        return None if allow_private else "a loopback address"
    if address.is_link_local:
        return None if allow_private else "a link-local address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return None if allow_private else "a private address"
    if address in _SHARED_ADDRESS_SPACE:
        return None if allow_private else "a shared (carrier-grade NAT) address"
    if not address.is_global:
        return "an address that is not globally routable"
    return None


def _show(address: IPAddress) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"{address} (IPv4 {address.ipv4_mapped})"
        if address in _NAT64:
            return f"{address} (NAT64 for IPv4 {ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)})"
    return str(address)


def _dialable(address: IPAddress) -> IPAddress:
    # An IPv4-mapped address is the IPv4 host; dialing it as IPv4 works without a dual-stack socket.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _shorten(url: httpx.URL) -> str:
    # Without query or fragment: those can hold signatures, and messages end up in logs.
    text = str(url.copy_with(query=None, fragment=None))
    return text if len(text) <= _MAX_URL_IN_MESSAGE else text[: _MAX_URL_IN_MESSAGE - 3] + "..."


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    value = _header(headers, b"content-length")
    if value is None or not value.strip().isdigit():
        return None  # h11 rejects a malformed one while reading; the byte count still guards
    return int(value)


def _remaining(deadline: float, timeout_error: type[httpcore.TimeoutException]) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise timeout_error("deadline passed")
    return left


def _clamp(timeout: float | None, deadline: float, timeout_error: type[httpcore.TimeoutException]) -> float:
    left = _remaining(deadline, timeout_error)
    return left if timeout is None else min(timeout, left)


class _PinnedBackend(httpcore.NetworkBackend):
    """Dials only the checked addresses of one host:port, whatever httpcore asks for."""

    def __init__(self, *, host: str, port: int, addresses: Sequence[IPAddress], deadline: float) -> None:
        self._host = host
        self._port = port
        self._addresses = addresses
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if (host, port) != (self._host, self._port):
            # Unreachable unless httpcore starts connecting elsewhere (a proxy, a retry to a new
            # origin); refusing keeps the guarantee true even then.
            raise httpcore.ConnectError(f"refusing to connect to unchecked {host}:{port}")
        options = list(socket_options or [])
        failure: httpcore.ConnectError | None = None
        for address in self._addresses:
            try:
                stream = self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=_clamp(timeout, self._deadline, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=options,
                )
            except httpcore.ConnectError as exc:  # refused / unreachable: the next checked address may work
                failure = exc
                continue
            return _DeadlineStream(stream, deadline=self._deadline)
        assert failure is not None  # addresses is never empty: _resolve refuses empty answers
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are never used for fetching images")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    """Every socket operation gets at most the time left until the fetch's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, *, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, self._deadline, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, self._deadline, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(
            ssl_context, server_hostname, _clamp(timeout, self._deadline, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(tls, deadline=self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)
