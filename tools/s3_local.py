"""An S3 API on loopback for the lake: moto's server, started and stopped on a free port.

    python tools/s3_local.py run -- python -m bunjang_lab demo   # the whole pipeline on s3://bunjang/lake
    python tools/s3_local.py serve                               # until Ctrl-C, printing the settings

``run`` starts the server, creates the bucket, runs the command with the settings in its
environment (``BUNJANG_S3_ENDPOINT_URL``, test credentials, and ``BUNJANG_LAKE`` on the
bucket unless set), then stops the server and exits with the command's code. The tests use
:class:`LocalS3` the same way (``tests/conftest.py``). Nothing here is for production: a real
deployment points ``BUNJANG_S3_ENDPOINT_URL`` (or nothing, for AWS) and its own credentials
at its object store (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

BUCKET = "bunjang"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalS3:
    """moto's S3 server in a process of its own on ``127.0.0.1:port`` (a free one by default)."""

    def __init__(self, port: int | None = None, bucket: str = BUCKET):
        self.port, self.bucket = port, bucket

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """What a process needs to reach the server (the lake's settings and test credentials)."""
        return {**CREDENTIALS, "BUNJANG_S3_ENDPOINT_URL": self.endpoint}

    def start(self, timeout: float = 30) -> "LocalS3":
        self.port = self.port or free_port()
        self.process_ = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if self.process_.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto's S3 server did not start on port {self.port}") from None
                time.sleep(0.1)
        request = urllib.request.Request(f"{self.endpoint}/{self.bucket}", method="PUT")
        urllib.request.urlopen(request, timeout=10).close()  # create the bucket (unsigned: moto accepts it)
        return self

    def stop(self) -> None:
        process = getattr(self, "process_", None)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> "LocalS3":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["run", "serve"])
    parser.add_argument("--port", type=int, help="port to listen on (default: a free one)")
    parser.add_argument("--bucket", default=BUCKET, help="bucket to create (default: %(default)s)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="with run: the command, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.action == "run" and not command:
        parser.error("run needs a command after --")
    with LocalS3(args.port, args.bucket) as s3:
        env = os.environ | s3.environment()
        env.setdefault("BUNJANG_LAKE", f"s3://{s3.bucket}/lake")
        if args.action == "run":
            return subprocess.call(command, env=env)
        print(" ".join(f"{k}={v}" for k, v in sorted(s3.environment().items())), f"BUNJANG_LAKE={env['BUNJANG_LAKE']}", flush=True)
        try:
            s3.process_.wait()
        except KeyboardInterrupt:
            pass
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
