"""A pipelined asyncio connection to Redis, for reads on the service's event loop (imported only there).

redis-py's calls block their thread until the reply comes, and the service answers lookups on
its event loop: every request in the worker waits out each round trip, while redis-server and
the other processes take the cores. Here a request's read is written and awaited instead, so the
loop answers other requests meanwhile; the reads of one loop iteration leave in one write, and
Redis answers them in order on the one connection. Only plain reads come this way (``MGET``):
transactions (``WATCH``/``MULTI``) keep redis-py's pooled connections.

Errors are those of :class:`~bunjang_lab.serving.resp.Connection`: an error reply is a
:class:`~bunjang_lab.serving.resp.RespError`; a lost, refused or silent server an
:class:`OSError` (after ``READ_TIMEOUT`` without a reply), after which the next read connects again.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any

import hiredis

from bunjang_lab.serving.resp import CONNECT_TIMEOUT, READ_TIMEOUT, Connection, RespError


class _Pipeline(asyncio.Protocol):
    """The connection's stream: commands out, replies handed in order to their waiting futures."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.reader = hiredis.Reader()
        self.waiting: deque[asyncio.Future] = deque()
        self.outgoing: list[bytes] = []
        self.lost: OSError | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def send(self, command: bytes) -> asyncio.Future:
        """The future of ``command``'s reply; commands sent in one loop iteration leave together."""
        if not self.outgoing:
            self.loop.call_soon(self._flush)
        self.outgoing.append(command)
        reply = self.loop.create_future()
        self.waiting.append(reply)
        return reply

    def _flush(self) -> None:
        data = b"".join(self.outgoing)
        self.outgoing.clear()
        if self.lost is None:
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        try:
            while (reply := self.reader.gets()) is not False:
                waiter = self.waiting.popleft()
                if not waiter.done():   # one whose request timed out is skipped, keeping the order
                    waiter.set_result(reply)
        except (hiredis.ProtocolError, IndexError) as exc:   # not Redis, or replies nobody asked for
            self.close(ConnectionError(f"unexpected reply from the server: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.close(ConnectionError(f"connection to Redis lost: {exc}") if exc else ConnectionError("connection closed by the server"))

    def close(self, error: OSError) -> None:
        """Fail every waiting read with ``error``; the connection is not used again."""
        if self.lost is None:
            self.lost = error
            self.transport.close()
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(error)


class AsyncConnection:
    """Reads for the event loop of one worker, to the server of a ``redis://`` URL (as
    :class:`~bunjang_lab.serving.resp.Connection` reads it: host, port, database, password, TLS)."""

    def __init__(self, url: str):
        self.server = Connection(url)   # only its parsed address and credentials are used
        self._pipeline: _Pipeline | None = None
        self._connecting: asyncio.Future | None = None

    async def execute(self, *args: Any) -> Any:
        """One command's reply, without blocking the event loop."""
        pipeline = self._pipeline
        if pipeline is None or pipeline.lost is not None or pipeline.loop is not asyncio.get_running_loop():
            pipeline = await self._connect()
        return await self._reply(pipeline, pipeline.send(hiredis.pack_command(args)))

    @staticmethod
    async def _reply(pipeline: _Pipeline, waiter: asyncio.Future) -> Any:
        timer = pipeline.loop.call_later(READ_TIMEOUT, pipeline.close,
                                         TimeoutError(f"no reply from Redis within {READ_TIMEOUT} s"))
        try:
            reply = await waiter
        finally:
            timer.cancel()
        if isinstance(reply, hiredis.ReplyError):
            raise RespError(str(reply))
        return reply

    async def _connect(self) -> _Pipeline:
        connecting = self._connecting
        if connecting is None or connecting.done() or connecting.get_loop() is not asyncio.get_running_loop():
            connecting = self._connecting = asyncio.ensure_future(self._open())   # requests meanwhile share it
        return await asyncio.shield(connecting)

    async def _open(self) -> _Pipeline:
        server, loop = self.server, asyncio.get_running_loop()
        context = ssl.create_default_context() if server.tls else None
        _, pipeline = await asyncio.wait_for(
            loop.create_connection(lambda: _Pipeline(loop), server.host, server.port, ssl=context,
                                   server_hostname=server.host if server.tls else None), CONNECT_TIMEOUT)
        setup = []
        if server.password is not None:
            setup.append(("AUTH", server.username, server.password) if server.username else ("AUTH", server.password))
        if server.db:
            setup.append(("SELECT", server.db))
        try:
            for command in setup:
                await self._reply(pipeline, pipeline.send(hiredis.pack_command(command)))
        except BaseException:
            pipeline.close(ConnectionError("could not set up the connection"))
            raise
        self._pipeline = pipeline
        return pipeline

    def close(self) -> None:
        """Closes the connection, from any thread (on its loop's, which alone may touch it)."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None and not pipeline.loop.is_closed():
            pipeline.loop.call_soon_threadsafe(pipeline.close, ConnectionError("connection closed"))
