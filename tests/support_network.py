"""Servers on loopback for tests: an app under uvicorn in a thread (`serving`), and a guard under which nothing may
connect, or resolve a name, outside loopback."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Run the ASGI `app` under uvicorn on a free loopback port; yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@dataclass
class Dialed:
    """Every address a guarded test connected to."""

    addresses: list[tuple[str, int]] = field(default_factory=list)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def guard_loopback(monkeypatch: pytest.MonkeyPatch, *, resolvable: Collection[str] = ()) -> Dialed:
    """Record every outgoing connection and fail the test on any that would leave loopback, or on a system DNS
    lookup of a name other than those in `resolvable` (`create_connection` looks up even IP literals)."""
    record = Dialed()
    real_connect = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo

    def guarded_connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        record.addresses.append((address[0], address[1]))
        if not _is_loopback(address[0]):
            pytest.fail(f"test tried to connect outside loopback: {address}")
        return real_connect(address, *args, **kwargs)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in resolvable and not _is_loopback(str(host)):
            pytest.fail(f"test tried to resolve {host!r} with the system resolver")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    return record
