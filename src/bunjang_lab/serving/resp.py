"""A minimal Redis client over the standard library (RESP2: commands, pipelines, errors).

Why not redis-py: importing it (8.x) pulls in asyncio and OpenTelemetry and costs about
300 ms of CPU, three times the whole budget of a ``score`` lookup. The cache needs a dozen
plain commands, which RESP makes a few lines each.

>>> encode_command("SET", "k", b"v", 3)
b'*4\\r\\n$3\\r\\nSET\\r\\n$1\\r\\nk\\r\\n$1\\r\\nv\\r\\n$1\\r\\n3\\r\\n'
"""

from __future__ import annotations

import socket
from typing import Any, Sequence
from urllib.parse import unquote, urlsplit


CONNECT_TIMEOUT = 0.25
READ_TIMEOUT = 0.5
"""Seconds to connect and to wait for a reply: a silent server is an error at once, not a
request held for seconds (a serving read takes well under a millisecond)."""


class RespError(Exception):
    """An error reply from the server (``-ERR ...``)."""


def _bytes(arg: Any) -> bytes:
    if isinstance(arg, bytes):
        return arg
    return str(arg).encode()


def encode_command(*args: Any) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = _bytes(arg)
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class Connection:
    """One connection to ``redis://[user:password@]host[:port][/db]`` (``rediss://`` for TLS).

    Connects on first use; socket errors surface as :class:`OSError`.
    """

    def __init__(self, url: str, connect_timeout: float = CONNECT_TIMEOUT, timeout: float = READ_TIMEOUT):
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"not a redis:// URL: {url!r}")
        self.host = parts.hostname or "localhost"
        self.port = parts.port or 6379  # a bad port raises ValueError here
        db = parts.path.strip("/") or "0"
        if not db.isdigit():
            raise ValueError(f"database must be a number, got {db!r}")
        self.db = int(db)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.tls = parts.scheme == "rediss"
        self.connect_timeout, self.timeout = connect_timeout, timeout
        self._sock: socket.socket | None = None
        self._reader = None

    def _connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        if self.tls:
            import ssl

            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        sock.settimeout(self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock, self._reader = sock, sock.makefile("rb")
        setup = []
        if self.password is not None:
            setup.append(("AUTH", self.username, self.password) if self.username else ("AUTH", self.password))
        if self.db:
            setup.append(("SELECT", self.db))
        if setup:
            self.pipeline(setup)

    def _read(self) -> Any:
        line = self._reader.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed by the server")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self._reader.read(size + 2)
            return data[:-2]
        if kind == b"*":
            size = int(rest)
            return None if size < 0 else [self._read() for _ in range(size)]
        raise ConnectionError(f"unexpected reply from the server: {line[:40]!r}")

    def pipeline(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """Send every command, then read every reply; the first error reply is raised."""
        if self._sock is None:
            self._connect()
        try:
            self._sock.sendall(b"".join(encode_command(*c) for c in commands))
            replies = [self._read() for _ in commands]
        except BaseException:
            self.close()  # a half-read reply stream cannot be reused
            raise
        for reply in replies:
            if isinstance(reply, RespError):
                raise reply
        return replies

    def execute(self, *args: Any) -> Any:
        return self.pipeline([args])[0]

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._reader.close()
                self._sock.close()
            finally:
                self._sock = self._reader = None
