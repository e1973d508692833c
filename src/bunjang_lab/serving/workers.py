"""Worker processes of the HTTP service, each listening on its own socket (``SO_REUSEPORT``).

uvicorn's own ``--workers`` shares one listening socket among its processes: whichever
worker wakes first accepts a whole burst of connections, and 32 keep-alive connections
opened together were split 26 to 6 (measured with the access log's ``pid``), one worker
answering four requests in five while the other idled. With a socket per worker bound
with ``SO_REUSEPORT`` the kernel spreads new connections over the workers by their
addresses.

:func:`serve` holds the port (so a port in use is one error at once), starts the workers,
starts a worker again when one dies, and on SIGTERM or SIGINT passes SIGTERM on: each
worker stops accepting, lets its requests in flight finish (uvicorn's graceful shutdown)
and exits.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
from typing import Any

from uvicorn.config import STARTUP_FAILURE  # a worker that could not start: again would fail the same way

log = logging.getLogger("uvicorn.error")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def unclaimed_port(host: str, port: int) -> int:
    """``port`` (a free one for 0), after a plain bind showed nobody holds it: sockets that
    all set SO_REUSEPORT share a port, so a second service started on it by mistake would
    quietly take some of this one's connections instead of failing. OSError when taken."""
    with socket.socket(_family(host)) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        return probe.getsockname()[1]


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) that other processes may bind too."""
    sock = socket.socket(_family(host))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _end_with_parent() -> None:
    """Have the kernel send this process SIGTERM when its parent dies (Linux), so a killed
    supervisor leaves no worker answering on the port with what it loaded."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the supervisor's SIGTERM is the only way
        log.warning("workers will outlive a killed supervisor on this system")
        return
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it died before the call above
        os.kill(os.getpid(), signal.SIGTERM)


def _worker(config: dict[str, Any]) -> None:
    import uvicorn

    _end_with_parent()
    uvicorn.Server(uvicorn.Config(**config)).run(sockets=[listening_socket(config["host"], config["port"])])


def serve(config: dict[str, Any], workers: int) -> int:
    """Run ``workers`` processes of ``uvicorn.Config(**config)`` until SIGTERM or SIGINT;
    the exit status is 0, or 1 when a worker could not start. OSError when the port is taken."""
    port = unclaimed_port(config["host"], config["port"])
    with listening_socket(config["host"], port):  # held, not listening (it takes no connection): the port stays ours
        config = {**config, "port": port}
        context = multiprocessing.get_context("spawn")
        stop = threading.Event()

        def start() -> multiprocessing.process.BaseProcess:
            process = context.Process(target=_worker, args=(config,), name="bunjang-serve-worker")
            process.start()
            return process

        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
        processes = [start() for _ in range(workers)]
        status = 0
        try:
            while not stop.wait(0.5):
                for n, process in enumerate(processes):
                    if process.is_alive():
                        continue
                    if process.exitcode == STARTUP_FAILURE:
                        log.error("worker %s could not start; stopping the service", process.pid)
                        status = 1
                        stop.set()
                        break
                    log.warning("worker %s ended (exit code %s); starting another", process.pid, process.exitcode)
                    processes[n] = start()
        finally:
            for process in processes:
                if process.is_alive():
                    process.terminate()  # SIGTERM: uvicorn's graceful shutdown
            for process in processes:
                process.join()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return status
