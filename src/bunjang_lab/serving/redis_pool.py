"""redis-py connections for the long-lived HTTP service (imported only there).

The service pays redis-py's import once and gets a bounded connection pool and the
hiredis reply parser. :class:`PooledConnection` offers the two calls the Redis backend
makes on a :class:`~bunjang_lab.serving.resp.Connection` (``execute`` and ``pipeline``) with
the same replies, errors and timeouts, so :class:`~bunjang_lab.serving.redis_cache.RedisCache`
runs unchanged over either and both pass the same contract tests.
"""

from __future__ import annotations

from typing import Any, Sequence

import redis
from redis.exceptions import RedisError, ResponseError

from bunjang_lab.serving.resp import CONNECT_TIMEOUT, READ_TIMEOUT, RespError

MAX_CONNECTIONS = 64
"""Connections one process may open (each thread holds one for its WATCH/MULTI state)."""


def connection_pool(url: str) -> redis.ConnectionPool:
    return redis.ConnectionPool.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=READ_TIMEOUT,
                                         max_connections=MAX_CONNECTIONS, protocol=2)  # the replies resp.py reads


class PooledConnection:
    """One pooled connection, taken on first use and given back by :meth:`close`."""

    def __init__(self, pool: redis.ConnectionPool):
        self.pool = pool
        self._conn = None

    def pipeline(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """Send every command, then read every reply; the first error reply is raised."""
        try:
            if self._conn is None:
                self._conn = self.pool.get_connection()
            conn = self._conn
            conn.send_packed_command(conn.pack_commands(commands))
            replies = []
            for _ in commands:
                try:
                    replies.append(conn.read_response())
                except ResponseError as exc:  # the reply was read whole: the stream stays usable
                    replies.append(RespError(str(exc)))
        except (RedisError, OSError) as exc:
            self.close()
            raise ConnectionError(str(exc) or type(exc).__name__) from None
        for reply in replies:
            if isinstance(reply, RespError):
                raise reply
        return replies

    def execute(self, *args: Any) -> Any:
        return self.pipeline([args])[0]

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.disconnect()  # WATCH state must not travel to the pool's next user
            self.pool.release(conn)
