"""Image references from data: roots, protocols, time and size limits, and the scans that
carry on past every bad picture (issue 22's probes, one test each)."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import socket
import sys
import threading
from collections import Counter
from pathlib import Path

import fsspec
import pyarrow.parquet as pq
import numpy as np
import pytest
from PIL import Image

from bunjang_lab.errors import InvalidInput
from bunjang_lab.fraud.scan import scan_fraud_folder
from bunjang_lab.fraud.images import scan
from bunjang_lab.fraud.images.cli import run as images_command
from bunjang_lab.fraud.images.loading import ImageError
from bunjang_lab.fraud.images.scan import analyse, merge_shards, plan_shards, scan_shard
from bunjang_lab.fraud.images.sources import DEFAULT_PROTOCOLS, ImageSources
from bunjang_lab.ingest import ingest_files
from bunjang_lab.serving.commands.image import run as score_image
from bunjang_lab.serving.commands.listing import run as score_listing


def png(size=(64, 48), colour=(200, 40, 40), **options) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG", **options)
    return buffer.getvalue()


def photo(seed: int, size=(160, 120)) -> bytes:
    """Smooth random colour blobs: no text line to read, and unlike any other seed's to
    the matcher (flat pictures all look alike to it)."""
    coarse = np.random.default_rng(seed).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC).save(buffer, "PNG")
    return buffer.getvalue()


class Listener:
    """A loopback TCP server that accepts and never answers, counting connections and bytes."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections, self.received, self.stop = 0, b"", threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        peers = []
        while not self.stop.is_set():
            try:
                peer, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            peer.settimeout(0.05)
            peers.append(peer)
            try:
                self.received += peer.recv(1024)
            except (socket.timeout, OSError):
                pass
        for peer in peers:
            peer.close()

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture()
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture()
def media(tmp_path, monkeypatch):
    """A media root with good and bad pictures; the image roots are that folder only."""
    root = tmp_path / "media"
    root.mkdir()
    (root / "good.png").write_bytes(photo(1))
    (root / "other.png").write_bytes(photo(2, (150, 150)))
    (root / "wide.png").write_bytes(png((20_000, 8), (255, 255, 255), optimize=True))
    (root / "tall.png").write_bytes(png((8, 20_000), (255, 255, 255), optimize=True))
    whole = png((300, 200), (10, 200, 30))
    (root / "truncated.png").write_bytes(whole[: len(whole) // 2])
    (root / "bomb.png").write_bytes(_bomb())
    (root / "notes.png").write_text("not a picture")
    secret = tmp_path / "secret.png"
    secret.write_bytes(png())
    (root / "link.png").symlink_to(secret)
    monkeypatch.setenv("BUNJANG_IMAGE_ROOTS", str(root))
    return root


def _bomb() -> bytes:
    """A tiny PNG declaring 100,000 x 100,000 pixels."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")


def refused(location: str, sources: ImageSources) -> ImageError:
    with pytest.raises(ImageError) as caught:
        sources.read(location)
    assert "\n" not in str(caught.value)
    return caught.value


# --- settings ---------------------------------------------------------------------------


def test_settings_come_from_the_environment_with_documented_defaults(monkeypatch, isolated_home):
    for name in ("BUNJANG_IMAGE_ROOTS", "BUNJANG_IMAGE_PROTOCOLS", "BUNJANG_IMAGE_TIMEOUT", "BUNJANG_IMAGE_MAX_MB"):
        monkeypatch.delenv(name, raising=False)
    default = ImageSources.from_env()
    assert default.roots[0] == str(isolated_home) and default.roots[1].endswith(os.path.join("data", "sample"))
    assert default.protocols == DEFAULT_PROTOCOLS == ("http", "https", "s3")
    assert default.timeout == 10 and default.max_bytes == 50 * 1024 * 1024
    custom = ImageSources.from_env({"BUNJANG_IMAGE_ROOTS": os.pathsep.join(["/a", "/b"]), "BUNJANG_IMAGE_PROTOCOLS": " HTTPS ,s3",
                                    "BUNJANG_IMAGE_TIMEOUT": "0.5", "BUNJANG_IMAGE_MAX_MB": "2"})
    assert custom == ImageSources(roots=("/a", "/b"), protocols=("https", "s3"), timeout=0.5, max_bytes=2 * 1024 * 1024)
    assert ImageSources.from_env({"BUNJANG_IMAGE_PROTOCOLS": ""}).protocols == ()  # no remote reference at all


@pytest.mark.parametrize("environ, message", [
    ({"BUNJANG_IMAGE_PROTOCOLS": "http,sftp"}, "sftp cannot be allowed: no time limit known"),
    ({"BUNJANG_IMAGE_TIMEOUT": "soon"}, "must be finite numbers"),
    ({"BUNJANG_IMAGE_MAX_MB": "inf"}, "must be finite numbers"),
    ({"BUNJANG_IMAGE_TIMEOUT": "0"}, "must be positive"),
    ({"BUNJANG_IMAGE_TIMEOUT": "nan"}, "must be positive"),
    ({"BUNJANG_IMAGE_MAX_MB": "-1"}, "must be positive"),
])
def test_bad_settings_are_the_domains_errors(environ, message):
    with pytest.raises(InvalidInput, match=message):
        ImageSources.from_env(environ)


# --- local references -------------------------------------------------------------------


def test_local_references_stay_under_the_roots(media, tmp_path):
    sources = ImageSources.from_env()
    assert sources.read(str(media / "good.png")) == (media / "good.png").read_bytes()
    assert sources.read(f"{media}/sub/../good.png") == (media / "good.png").read_bytes()  # normalised, inside
    assert sources.read(f"file://{media}/good.png") == (media / "good.png").read_bytes()
    for escape in (f"{media}/../../../../../../etc/passwd", "../../etc/passwd", f"file://{media}/../secret.png",
                   str(media / "link.png"), "/etc/passwd"):
        error = refused(escape, sources)
        assert error.code == "refused" and "outside the image roots" in str(error)
    assert refused(f"{media}/a\0.png", sources).code == "refused"
    assert refused(str(media / "missing.png"), sources).code == "not_found"
    assert refused(str(media), sources).code == "not_a_file"
    os.mkfifo(media / "pipe.png")  # opening a pipe nobody writes to must not wait
    assert refused(str(media / "pipe.png"), sources).code == "not_a_file"
    assert ImageSources.from_env().any_local_path().read(str(media / "link.png")) == (tmp_path / "secret.png").read_bytes()


def test_a_root_is_not_a_prefix_of_its_neighbour(tmp_path):
    (tmp_path / "media2").mkdir()
    (tmp_path / "media2" / "x.png").write_bytes(png())
    assert refused(str(tmp_path / "media2" / "x.png"), ImageSources(roots=(str(tmp_path / "media"),))).code == "refused"


# --- remote references ------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["ftp", "FTP", "sftp", "gopher", "smb"])
def test_other_schemes_are_refused_without_a_connection(listener, scheme):
    error = refused(f"{scheme}://127.0.0.1:{listener.port}/a.jpg", ImageSources.from_env())
    assert error.code == "refused" and "is not allowed" in str(error)
    assert listener.connections == 0 and listener.received == b""


def test_chained_urls_are_refused_without_a_connection(listener):
    error = refused(f"simplecache::ftp://127.0.0.1:{listener.port}/a.jpg", ImageSources.from_env())
    assert error.code == "refused" and listener.connections == 0


def test_an_allowed_protocol_connects_within_the_timeout(listener):
    """The control of the test above: allowed, the same server is reached, and its silence
    ends in the time limit."""
    error = refused(f"ftp://127.0.0.1:{listener.port}/a.jpg", ImageSources(roots=(), protocols=("ftp",), timeout=0.3))
    assert error.code == "timeout" and "0.3 s" in str(error)
    assert listener.connections == 1


def hide_package(monkeypatch, package: str, scheme: str) -> None:
    """As if ``package`` were not installed: importing it fails, and fsspec has not yet loaded
    the class of ``scheme`` (nor its http module, which imports aiohttp)."""
    for name in [m for m in sys.modules if m.split(".")[0] == package or m == "fsspec.implementations.http"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, package, None)
    monkeypatch.delitem(sys.modules["fsspec.registry"]._registry, scheme, raising=False)


@pytest.mark.parametrize("scheme, package", [("http", "aiohttp"), ("https", "aiohttp"), ("s3", "s3fs")])
def test_a_missing_optional_package_is_a_per_image_error(listener, monkeypatch, scheme, package):
    hide_package(monkeypatch, package, scheme)
    error = refused(f"{scheme}://127.0.0.1:{listener.port}/a.jpg", ImageSources.from_env())
    assert error.code == "missing_dependency" and f"{package} is not installed" in str(error)
    assert listener.connections == 0


def test_remote_pictures_are_read_through_fsspec_within_the_size_limit():
    memory = fsspec.filesystem("memory")
    memory.pipe("/p22/small.png", png())
    memory.pipe("/p22/large.bin", b"\0" * 4096)
    sources = ImageSources(roots=(), protocols=("memory",), max_bytes=2048)
    try:
        assert sources.read("memory://p22/small.png") == png()
        error = refused("memory://p22/large.bin", sources)
        assert error.code == "too_large" and "larger than" in str(error)
        assert refused("memory://p22/missing.png", sources).code == "not_found"
    finally:
        memory.rm("/p22", recursive=True)


# --- the scans carry on -----------------------------------------------------------------

BAD = {"wide.png": "too_wide", "tall.png": "too_tall", "truncated.png": "corrupt", "bomb.png": "decompression_bomb",
       "notes.png": "not_an_image", "link.png": "refused", "missing.png": "not_found"}


def test_a_fraud_scan_shard_carries_on_past_every_bad_reference(media, tmp_path, listener, monkeypatch):
    """Listing events through ingest, the plan, a shard and the merge: every bad reference
    is its own row with a code, and the good pictures around it are hashed and matched."""
    monkeypatch.setenv("BUNJANG_IMAGE_TIMEOUT", "0.3")  # the listener never answers
    bad_refs = [f"./{name}" for name in BAD] + ["../../etc/passwd", f"ftp://127.0.0.1:{listener.port}/x.jpg",
                                                f"http://127.0.0.1:{listener.port}/x.jpg"]
    events = [{"event_id": "e1", "type": "listing", "ts": "2026-10-01T09:00:00Z", "user_id": "honest", "item_id": "i1",
               "title": "가방", "price": 1000, "category": "가방", "images": ["good.png", "other.png"]},
              {"event_id": "e2", "type": "listing", "ts": "2026-10-01T10:00:00Z", "user_id": "thief", "item_id": "i2",
               "title": "가방", "price": 1000, "category": "가방", "images": [*bad_refs[:5], "good.png", *bad_refs[5:]]}]
    day = media / "2026-10-01.jsonl"
    day.write_text("".join(json.dumps(e) + "\n" for e in events))
    lake = tmp_path / "lake"
    ingest_files([day], lake)
    shards = plan_shards(str(lake), "2026-10-01", "2026-10-02", shard_size=100)
    index = tmp_path / "ix"
    out = merge_shards([scan_shard(shards[0], index, tmp_path / "part.parquet")], index, tmp_path / "fraud")
    rows = pq.read_table(out).to_pylist()
    assert len(rows) == 2 + len(bad_refs) + 1
    codes = {r["image"]: r["error_code"] for r in rows if r["error"]}
    http = "missing_dependency" if importlib.util.find_spec("aiohttp") is None else "timeout"
    assert codes == {**{str(media / name): code for name, code in BAD.items()}, f"{media}/../../etc/passwd": "refused",
                     bad_refs[-2]: "refused", bad_refs[-1]: http}
    assert (listener.connections == 0) == (http == "missing_dependency")  # the ftp reference never connects (above)
    good = [r for r in rows if not r["error"]]
    assert [(r["item_id"], Path(r["image"]).name) for r in good] == [("i1", "good.png"), ("i1", "other.png"), ("i2", "good.png")]
    assert json.loads(good[2]["matches"])[0]["listing"] == "i1" and good[2]["flagged"]  # still matched
    summary = scan_fraud_folder(lake, tmp_path / "fraud", image_index=index)  # the listings are scored on
    assert summary["listings"] == 2 and summary["images"] == len(rows)
    assert summary["image_errors"] == dict(sorted(Counter(codes.values()).items()))


def test_a_picture_whose_analysis_raises_is_its_own_error(media, tmp_path, monkeypatch, caplog):
    def failing(img, **options):
        if img.size == (160, 120):  # good.png
            raise ValueError("height and width must be > 0")
        return original(img, **options)

    from bunjang_lab.fraud.images import hashing

    original = hashing.hash_image
    monkeypatch.setattr(hashing, "hash_image", failing)
    shard = [{"image": str(media / name), "item_id": name, "seller_id": "s", "ts": "2026-10-01T00:00:00+00:00"}
             for name in ("good.png", "other.png")]
    rows = pq.read_table(scan_shard(shard, tmp_path / "ix", tmp_path / "part.parquet")).to_pylist()
    assert rows[0]["error_code"] == "analysis_failed" and "height and width" in rows[0]["error"]
    assert rows[1]["error"] is None and rows[1]["hashes"]
    assert "analysing" in caplog.text and "ValueError" in caplog.text  # the traceback is logged


def test_score_image_answers_every_file_and_exits_1(media, tmp_path, capsys):
    files = [str(media / name) for name in ("wide.png", "good.png", "tall.png", "bomb.png", "truncated.png", "link.png")]
    files.append("ftp://127.0.0.1:1/x.jpg")
    indexed = tmp_path / "indexed"
    indexed.mkdir()
    (indexed / "other.png").write_bytes((media / "other.png").read_bytes())
    index = tmp_path / "ix"
    assert images_command(["index", str(indexed), "--index", str(index), "--no-progress"]) == 0
    capsys.readouterr()
    assert score_image([*files, "--index", str(index), "--no-ocr"]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["image"] for line in lines] == files
    assert [line.get("error_code") for line in lines] == ["too_wide", None, "too_tall", "decompression_bomb", "corrupt",
                                                          None, "refused"]  # files named here may be links anywhere
    assert lines[1]["risk"] == 0.0 and lines[1]["matches"] == [] and "risk" in lines[5]


def test_score_listing_refuses_references_outside_the_roots(media, tmp_path, capsys, listener):
    listings = [{"title": "가방", "description": "새 상품", "item_id": "a",
                 "images": [str(media / "good.png"), "../../etc/passwd", f"ftp://127.0.0.1:{listener.port}/x.jpg",
                            str(media / "wide.png")]},
                {"title": "신발", "description": "새 상품", "item_id": "b", "images": [str(media / "other.png")]}]
    path = tmp_path / "listings.jsonl"
    path.write_text("".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj in listings))
    assert score_listing(["--json", str(path), "--rules-only", "--no-ocr"]) == 1
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert [(Path(e["image"]).name, e["error_code"]) for e in first["parts"]["images"]["errors"]] == [
        ("passwd", "refused"), ("x.jpg", "refused"), ("wide.png", "too_wide")]
    assert first["parts"]["images"]["checked"] == 1 and second["parts"]["images"]["checked"] == 1
    assert listener.connections == 0


def test_analyse_without_sources_uses_the_settings(media):
    assert analyse(str(media / "good.png")).error is None
    assert analyse("/etc/passwd").error_code == "refused"
    assert scan.analyse(str(media / "good.png"), sources=ImageSources(roots=(str(media / "sub"),))).error_code == "refused"


def test_indexing_a_lake_obeys_the_roots_and_a_named_folder_is_one_more(media, tmp_path, capsys):
    day = media / "2026-10-01.jsonl"
    day.write_text(json.dumps({"event_id": "e1", "type": "listing", "ts": "2026-10-01T09:00:00Z", "user_id": "s",
                               "item_id": "i1", "title": "가방", "price": 1000, "category": "가방",
                               "images": ["good.png", "../../etc/passwd"]}) + "\n")
    ingest_files([day], tmp_path / "lake")
    assert images_command(["index", str(tmp_path / "lake"), "--index", str(tmp_path / "ix"), "--no-progress", "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert (summary["added"], summary["errors"]) == (1, 1) and "outside the image roots" in captured.err
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.png").write_bytes(photo(3))
    assert images_command(["index", str(elsewhere), "--index", str(tmp_path / "ix"), "--no-progress", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == 1
