"""``score serve [--host 127.0.0.1] [--port 8000] [--cache URL] [--workers N]``: the HTTP service.

Starts :mod:`bunjang_lab.serving.service` under uvicorn. Every worker process builds the
app from the environment this command sets (cache URL, models, image index), follows
publishes on its own and answers until SIGTERM or Ctrl-C, which let in-flight requests
finish. Access lines go to stderr as JSON.
"""

from __future__ import annotations

import contextlib
import os
import tempfile

from bunjang_lab.cli import UserError, parser

GRACEFUL_SHUTDOWN_SECONDS = 10


def run(argv: list[str]) -> int:
    p = parser("python -m bunjang_lab.score serve", "Serve recommendations, events and fraud scoring over HTTP.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--cache", default=None, help="cache URL (default: BUNJANG_CACHE_URL or sqlite:///var/cache.sqlite)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--models", default=None, help="models folder (default: BUNJANG_MODELS or models/)")
    p.add_argument("--index", default=None, help="image index folder (default: BUNJANG_HOME/image_index when built)")
    p.add_argument("--rules-only", action="store_true", help="score texts with the rules alone")
    p.add_argument("--no-access-log", action="store_true", help="no JSON line per request on stderr")
    args = p.parse_args(argv)
    if args.workers < 1:
        raise UserError("--workers must be at least 1")

    from bunjang_lab.serving.backends import open_cache
    from bunjang_lab.serving.service import Settings

    open_cache(args.cache).close()  # a wrong URL or a missing SQLite file: one line now, not per worker
    if args.models is not None and not os.path.isdir(args.models):
        raise UserError(f"--models: no models folder at {args.models}")
    settings = Settings(args.cache, args.models, args.index, args.rules_only, access_log=not args.no_access_log)
    os.environ.update(settings.environment())

    import uvicorn

    with contextlib.ExitStack() as cleanup:
        if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # workers share their figures
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="bunjang-metrics-"))
        config = {"app": "bunjang_lab.serving.service:app_from_environment", "factory": True, "host": args.host,
                  "port": args.port, "loop": "uvloop", "http": "httptools", "access_log": False,
                  "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS, "log_level": "info"}
        if args.workers == 1:
            uvicorn.run(**config)
            return 0
        from bunjang_lab.serving.workers import serve  # a socket per worker: connections spread evenly

        try:
            return serve(config, args.workers)
        except OSError as exc:
            raise UserError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
