"""Where listing pictures may be read from: the settings, and the checks on each reference.

An image reference comes from data (a listing event, a listing sent to ``score listing``),
so it is untrusted: ``../../etc/passwd`` or ``ftp://host/x.jpg`` must not be read. The
rules, each set by an environment variable (defaults in brackets):

``BUNJANG_IMAGE_ROOTS`` [``BUNJANG_HOME`` and ``data/sample``]
    Folders a local reference must lie in (``os.pathsep``-separated). A path is
    normalised and its symbolic links resolved before the check, so neither ``..`` nor a
    link leads out of a root.
``BUNJANG_IMAGE_PROTOCOLS`` [``http,https,s3``]
    The fsspec protocols a remote reference may use; any other scheme (``ftp://``,
    ``sftp://``, a chained ``a::b`` URL) is refused before anything is opened.
``BUNJANG_IMAGE_TIMEOUT`` [``10``]
    Seconds a remote connection and each read may take.
``BUNJANG_IMAGE_MAX_MB`` [``50``]
    Largest picture file read, local or remote (MiB).

Files an operator names on a command line, and the service's own uploads, are not
references: :meth:`ImageSources.any_local_path` lifts the roots for them (remote
locations keep the protocol, timeout and size rules).

>>> sources = ImageSources(roots=("/srv/media",))
>>> sources.check("/srv/media/day1/../day2/a.jpg")
'/srv/media/day2/a.jpg'
>>> sources.check("/srv/media/day1/../../../etc/passwd")
Traceback (most recent call last):
...
bunjang_lab.fraud.images.loading.ImageError: refused: /etc/passwd is outside the image roots (BUNJANG_IMAGE_ROOTS)
>>> sources.check("ftp://example.com/a.jpg")
Traceback (most recent call last):
...
bunjang_lab.fraud.images.loading.ImageError: refused: protocol 'ftp' is not allowed (BUNJANG_IMAGE_PROTOCOLS: http, https, s3)
"""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass, replace

from bunjang_lab import paths
from bunjang_lab.errors import InvalidInput
from bunjang_lab.fraud.images.loading import ImageError, one_line

DEFAULT_PROTOCOLS = ("http", "https", "s3")
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_MB = 50
#: How each protocol that may be allowed takes its time limit (fsspec storage options);
#: a protocol without an entry here cannot be allowed, since its reads could hang.
_TIMEOUT_OPTIONS = {
    "http": lambda seconds: {"client_kwargs": {"timeout": _aiohttp_timeout(seconds)}},
    "https": lambda seconds: {"client_kwargs": {"timeout": _aiohttp_timeout(seconds)}},
    "s3": lambda seconds: {"config_kwargs": {"connect_timeout": seconds, "read_timeout": seconds,
                                             "retries": {"max_attempts": 1}}},
    "ftp": lambda seconds: {"timeout": seconds},
    "memory": lambda seconds: {},  # in-process, used by tests
}
#: fsspec packages a protocol needs beyond fsspec itself (named in the per-image error).
_PACKAGES = {"http": "aiohttp", "https": "aiohttp", "s3": "s3fs"}


@dataclass(frozen=True)
class ImageSources:
    """The rules for reading a picture reference (see the module docstring).

    ``roots=None`` allows any local path (files named by an operator).
    """

    roots: tuple[str, ...] | None = ()
    protocols: tuple[str, ...] = DEFAULT_PROTOCOLS
    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_MB * 1024 * 1024

    def __post_init__(self):
        unknown = [p for p in self.protocols if p not in _TIMEOUT_OPTIONS]
        if unknown:
            raise InvalidInput(f"image protocols {', '.join(unknown)} cannot be allowed: no time limit known for "
                               f"them (known: {', '.join(_TIMEOUT_OPTIONS)})")
        if not (0 < self.timeout < math.inf and self.max_bytes > 0):
            raise InvalidInput("the image timeout and size limit must be positive and finite")

    @classmethod
    def from_env(cls, environ=None) -> "ImageSources":
        """The settings of the ``BUNJANG_IMAGE_*`` variables, defaults for those unset.

        >>> ImageSources.from_env({"BUNJANG_IMAGE_ROOTS": "/a:/b", "BUNJANG_IMAGE_PROTOCOLS": "https",
        ...                        "BUNJANG_IMAGE_TIMEOUT": "0.5"}).protocols
        ('https',)
        """
        env = os.environ if environ is None else environ
        roots = env.get("BUNJANG_IMAGE_ROOTS")
        protocols = env.get("BUNJANG_IMAGE_PROTOCOLS")
        try:
            timeout = float(env.get("BUNJANG_IMAGE_TIMEOUT") or DEFAULT_TIMEOUT)
            max_bytes = int(float(env.get("BUNJANG_IMAGE_MAX_MB") or DEFAULT_MAX_MB) * 1024 * 1024)
        except (ValueError, OverflowError):
            raise InvalidInput("BUNJANG_IMAGE_TIMEOUT and BUNJANG_IMAGE_MAX_MB must be finite numbers") from None
        return cls(
            roots=tuple(r for r in roots.split(os.pathsep) if r) if roots else (str(paths.home()), str(paths.sample_dir())),
            protocols=tuple(p.strip().lower() for p in protocols.split(",") if p.strip()) if protocols is not None
            else DEFAULT_PROTOCOLS,
            timeout=timeout, max_bytes=max_bytes)

    def any_local_path(self) -> "ImageSources":
        """The same rules without the roots, for files an operator names."""
        return replace(self, roots=None)

    def check(self, location: str) -> str:
        """The normalised, resolved local path or the remote URL ``location`` may be read
        as, or :class:`ImageError` (code ``refused``) without opening anything."""
        protocol = _protocol(location)
        if protocol is None or protocol == "file":
            return self._local(location.split("://", 1)[1] if protocol == "file" else location)
        if protocol not in self.protocols:
            allowed = ", ".join(self.protocols) or "none"
            raise ImageError(f"refused: protocol {protocol!r} is not allowed (BUNJANG_IMAGE_PROTOCOLS: {allowed})",
                             code="refused")
        return location

    def read(self, location: str) -> bytes:
        """The bytes at ``location`` after :meth:`check`, at most ``max_bytes`` of them."""
        target = self.check(location)
        protocol = _protocol(target)
        if protocol is None:
            return _read_local(target, self.max_bytes)
        return _read_remote(target, protocol, self.timeout, self.max_bytes)

    def _local(self, location: str) -> str:
        if "\0" in location:
            raise ImageError("refused: a NUL byte in the path", code="refused")
        resolved = os.path.realpath(location)
        if self.roots is not None and not any(_inside(resolved, root) for root in self.roots):
            raise ImageError(f"refused: {resolved} is outside the image roots (BUNJANG_IMAGE_ROOTS)", code="refused")
        return resolved


def _protocol(location: str) -> str | None:
    """The lower-cased scheme of a URL (``"a::b"`` chains are refused), ``None`` for a path."""
    if "::" in location:
        raise ImageError("refused: chained URLs (a::b) are not allowed", code="refused")
    scheme, sep, _ = location.partition("://")
    return scheme.lower() if sep else None


def _inside(path: str, root: str) -> bool:
    root = os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _read_local(path: str, limit: int) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ImageError("no such file", code="not_found") from None
    except OSError as exc:
        raise ImageError(f"cannot read file ({exc.strerror or exc})", code="unreadable") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a folder, a device, a pipe
        os.close(fd)
        raise ImageError("not a regular file", code="not_a_file")
    with os.fdopen(fd, "rb") as handle:
        return _bounded(handle, limit)


def _read_remote(url: str, protocol: str, timeout: float, limit: int) -> bytes:
    """Through fsspec, with the protocol's time limit; every failure is an :class:`ImageError`."""
    try:
        import fsspec

        with fsspec.open(url, "rb", **_TIMEOUT_OPTIONS[protocol](timeout)) as handle:
            size = getattr(handle, "size", None)
            if isinstance(size, int) and size > limit:
                raise ImageError(f"file larger than {_mib(limit)}", code="too_large")
            return _bounded(handle, limit)
    except ImageError:
        raise
    except ImportError as exc:
        package = _PACKAGES.get(protocol, getattr(exc, "name", None) or "a package")
        raise ImageError(f"cannot read {protocol}:// references: {package} is not installed", code="missing_dependency") from None
    except FileNotFoundError as exc:
        if isinstance(exc.__cause__, TimeoutError):  # fsspec's http reports a silent server as a missing file
            raise ImageError(f"timed out after {timeout:g} s", code="timeout") from None
        raise ImageError("no such file", code="not_found") from None
    except TimeoutError:  # also socket.timeout and asyncio's, since Python 3.11
        raise ImageError(f"timed out after {timeout:g} s", code="timeout") from None
    except Exception as exc:  # noqa: BLE001 - the protocols' own errors (aiohttp, botocore...) end here
        raise ImageError(f"cannot fetch ({type(exc).__name__}: {one_line(exc)})", code="fetch_failed") from None


def _bounded(handle, limit: int) -> bytes:
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise ImageError(f"file larger than {_mib(limit)}", code="too_large")
    if not data:
        raise ImageError("empty file", code="empty")
    return data


def _mib(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MiB"


def _aiohttp_timeout(seconds: float):
    import aiohttp

    return aiohttp.ClientTimeout(total=None, connect=seconds, sock_connect=seconds, sock_read=seconds)
