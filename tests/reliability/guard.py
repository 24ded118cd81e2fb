"""A network guard for privacy tests: every outgoing connection and name lookup made in this
process is recorded, and any that does not go to an allowed address is refused."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class NetGuard:
    """The record of network attempts: ``allowed`` hosts (names or IP literals) may be reached;
    ``attempts`` lists every (kind, host, port) tried; ``refused`` those that were blocked."""

    allowed: frozenset[str]
    attempts: list[tuple[str, str, int | None]] = field(default_factory=list)
    refused: list[tuple[str, str, int | None]] = field(default_factory=list)

    def check(self, kind: str, host: str, port: int | None) -> None:
        """Record one attempt; raise ConnectionRefusedError when ``host`` is not allowed."""
        entry = (kind, host, port)
        self.attempts.append(entry)
        if host not in self.allowed:
            self.refused.append(entry)
            raise ConnectionRefusedError(f"privacy guard: {kind} to {host}:{port} refused")


def _host_port(address: Any) -> tuple[str, int | None]:
    if isinstance(address, tuple) and address:
        port = address[1] if len(address) > 1 and isinstance(address[1], int) else None
        return str(address[0]), port
    return str(address), None


@contextmanager
def network_guard(allowed: set[str]) -> Iterator[NetGuard]:
    """Patch socket.getaddrinfo, socket.create_connection and socket.socket.connect(_ex) so
    that only ``allowed`` hosts can be looked up or reached; yields the record."""
    guard = NetGuard(frozenset(allowed))
    real_getaddrinfo = socket.getaddrinfo
    real_create = socket.create_connection
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        guard.check("getaddrinfo", name, port if isinstance(port, int) else None)
        return real_getaddrinfo(host, port, *args, **kwargs)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        host, port = _host_port(address)
        guard.check("create_connection", host, port)
        return real_create(address, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host, port = _host_port(address)
            guard.check("connect", host, port)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host, port = _host_port(address)
            guard.check("connect_ex", host, port)
        return real_connect_ex(self, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        patch.setattr(socket, "create_connection", create_connection)
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket.socket, "connect_ex", connect_ex)
        yield guard
