"""The HTTP service as a real process on loopback, on both cache backends."""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from bunjang_lab.serving import queries
from bunjang_lab.serving.backends import open_cache
from bunjang_lab.serving.publish import publish_run
from bunjang_lab.testing import write_run

from .conftest import SERVING_REDIS_DB

SRC = Path(__file__).resolve().parents[1] / "src"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, cache_url: str, home: Path, workers: int = 1):
        self.cache_url, self.port = cache_url, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = home / f"serve-{self.port}.log"
        (home / "models").mkdir(exist_ok=True)  # an empty models folder: the rules alone
        env = {**os.environ, "PYTHONPATH": str(SRC), "BUNJANG_HOME": str(home), "BUNJANG_MODELS": str(home / "models")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bunjang_lab.score", "serve", "--port", str(self.port), "--cache", cache_url,
             "--rules-only", "--workers", str(workers)], stdout=subprocess.DEVNULL, stderr=self.log.open("wb"), env=env)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the service did not start:\n{self.log.read_text()}")
            time.sleep(0.1)

    def request(self, path: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, object]:
        request = urllib.request.Request(self.base + urllib.parse.quote(path, safe="/?=&%"), data=body, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, data, kind = response.status, response.read(), response.headers.get("content-type", "")
        except urllib.error.HTTPError as exc:
            status, data, kind = exc.code, exc.read(), exc.headers.get("content-type", "")
        return status, json.loads(data) if kind.startswith("application/json") else data.decode()

    def get(self, path: str) -> tuple[int, object]:
        return self.request(path)

    def post(self, path: str, body: object | bytes) -> tuple[int, object]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.request(path, data, {"content-type": "application/json"})

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def server(request, tmp_path_factory):
    home = tmp_path_factory.mktemp("serve")
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'cache.sqlite'}"
    else:
        url = f"{SERVING_REDIS_DB}?prefix=test-{uuid.uuid4().hex}:"
    publish_run(write_run(home / "run"), url)
    server = Server(url, home)
    yield server
    if server.proc.poll() is None:
        server.stop()
    if request.param == "redis":
        with open_cache(url) as cache:
            cache.clear()


def cli(server: Server, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.run([sys.executable, "-m", "bunjang_lab.score", *args, "--cache", server.cache_url],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_lookups_answer_what_the_commands_answer(server):
    assert server.get("/api/v1/recommend?user=u3&k=5") == (200, cli(server, "recommend", "--user", "u3", "--k", "5"))
    assert server.get("/api/v1/suggest?prefix=ㄴㅇㅋ&user=u3")[1] == cli(server, "suggest", "--prefix", "ㄴㅇㅋ", "--user", "u3")
    status, popular = server.get("/api/v1/popular?gender=F&age_band=20s&k=3")
    assert status == 200 and popular["segment"] == "F|20s" and len(popular["items"]) == 3
    status, related = server.get("/api/v1/related?item=i4")
    assert status == 200 and "i4" not in [i["item_id"] for i in related["items"]]
    status, stranger = server.get("/api/v1/recommend?user=nobody&gender=F&birth_year=2001")
    assert (stranger["source"], stranger["segment"]) == ("segment", "F|20s")


def test_a_sold_item_leaves_every_list_at_once(server):
    paths = ["/api/v1/recommend?user=u2&k=50", "/api/v1/popular?k=100"] + [f"/api/v1/related?item={i}&k=100" for i in ("i3", "i4", "i5")]
    before = [server.get(path)[1] for path in paths]  # the lists of fixed values are now held as answers
    sold = before[1]["items"][0]["item_id"]
    status, answer = server.post("/api/v1/events", {"type": "listing_status", "item_id": sold, "status": "sold"})
    assert (status, answer["effect"]) == (200, "unavailable")
    lists = [server.get(path)[1] for path in paths]
    assert all(sold not in [i["item_id"] for i in answer.get("items", [])] for answer in lists)
    server.post("/api/v1/events", {"type": "listing_status", "item_id": sold, "status": "active"})
    assert [server.get(path)[1] for path in paths] == before  # and back in every list when it is for sale again


def test_ads_from_campaign_events_are_blended_into_the_feed(server):
    campaign = {"event_id": f"camp-{uuid.uuid4().hex}", "type": "ad_campaign", "user_id": "s9", "campaign_id": "c-http",
                "item_ids": ["i2"], "billing": "cpc", "bid": 300, "daily_budget": 10_000, "start_ms": 0}
    assert server.post("/api/v1/events", campaign) == (200, {"effect": "campaign", "status": "active",
                                                             "event_id": campaign["event_id"], "type": "ad_campaign",
                                                             "user_id": "s9"})
    status, answer = server.get("/api/v1/ads?surface=home&user=u3&k=5&positions=1")
    assert status == 200 and answer["ads"][0]["campaign_id"] == "c-http"
    assert answer["items"][1] == {**answer["ads"][0], "ad": True}
    status, answer = server.get("/api/v1/ads?surface=detail&user=u3")
    assert status == 400 and "item_id" in answer["error"]
    status, feed = server.get("/api/v1/recommend?user=u3&k=20")   # the feed's own answer carries the ad too
    assert status == 200 and [(i["campaign_id"], i["ad"]) for i in feed["items"] if i.get("ad")] == [("c-http", True)]
    assert feed == cli(server, "recommend", "--user", "u3", "--k", "20")
    assert feed["items"] == server.get("/api/v1/ads?surface=home&user=u3&k=20")[1]["items"]


def test_a_click_reranks_the_feed_for_the_next_request(server):
    before = server.get("/api/v1/recommend?user=u2&k=50")[1]["items"]
    status, answers = server.post("/api/v1/events", [{"type": "click", "user_id": "u2", "item_id": "i3"},
                                                    {"type": "click", "user_id": "u2", "item_id": ["i3"]}])
    assert status == 200 and answers[0]["effect"] == "reranked"
    assert answers[1] == {"index": 1, "error": "item_id must be a string id, got a list"}
    assert server.get("/api/v1/recommend?user=u2&k=50")[1]["items"] != before


@pytest.mark.parametrize("body, status, message", [
    (b'{"type": "click", "user_id": "u\xff"}', 400, "not valid UTF-8"),
    (b'{"type": "click", "user_id": "\\ud800", "item_id": "i1"}', 400, "lone surrogate"),
    (b"[" * 100_000 + b"]" * 100_000, 400, "nested deeper"),
    (b'{"type": "click", "user_id": "u2", "item_id": "i3", "ts": 1e308}', 400, "ahead of the clock"),
    (b'{"type": "click", "user_id": "u2", "item_id": "i3", "ts": NaN}', 400, "NaN is not a JSON number"),
    (b'{"type": "click", "user_id": "' + b"u" * 200 + b'", "item_id": "i3"}', 400, "over the 128-character limit"),
    (b"{broken", 400, "invalid JSON"),
])
def test_bad_events_are_refused_with_one_clear_error(server, body, status, message):
    answer = server.post("/api/v1/events", body)
    assert answer[0] == status and message in answer[1]["error"]


def test_a_body_over_the_limit_is_refused_before_it_is_read(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:  # only the headers are sent: the service answers from the declared length
        conn.putrequest("POST", "/api/v1/events")
        conn.putheader("Content-Length", str(2 << 20))
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 413 and "over the 1048576-byte limit" in json.loads(response.read())["error"]
    finally:
        conn.close()


@pytest.mark.parametrize("path, status, message", [
    ("/api/v1/recommend", 400, "user_id is required"),
    ("/api/v1/recommend?user=u2&k=zero", 400, "k must be an integer"),
    ("/api/v1/recommend?user=" + "u" * 300, 400, "over the 128-character limit"),
    ("/api/v1/related?item=nope", 404, "no related items for item 'nope'"),
    ("/api/v1/suggest?prefix=%20", 400, "the prefix is empty"),
    ("/api/v1/nothing-here", 404, None),
])
def test_bad_lookups_are_clear_errors(server, path, status, message):
    answer = server.get(path)
    assert answer[0] == status and (message is None or message in answer[1]["error"])


def test_fraud_scoring_of_texts_listings_and_uploaded_pictures(server):
    status, answer = server.post("/api/v1/text", {"id": 7, "text": "카.톡 ab1234 으로 연락 주세요"})
    assert (status, answer["id"], answer["flagged"], answer["model"]) == (200, 7, True, "rules")
    status, answers = server.post("/api/v1/text", [{"text": "네 직거래 가능해요"}, {"text": 3}])
    assert answers[0]["flagged"] is False and answers[1] == {"index": 1, "error": "each line needs a string field 'text'"}
    status, answer = server.post("/api/v1/listing", {"item_id": "i1", "title": "가방", "description": "직거래만 해요"})
    assert status == 200 and answer["item_id"] == "i1" and answer["parts"]["cache"]["source"] == "version 1"
    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(picture, format="PNG")
    boundary = "bunjang-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"red.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + picture.getvalue() + f"\r\n--{boundary}--\r\n".encode()
    status, answer = server.request("/api/v1/image?ocr=0", body, {"content-type": f"multipart/form-data; boundary={boundary}"})
    assert status == 200 and answer["image"] == "red.png" and answer["matches"] == [] and "risk" in answer


def test_uploads_that_are_no_picture_or_no_form_are_clear_errors(server):
    boundary = "b"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\n\r\n"
            f"not a picture\r\n--{boundary}--\r\n").encode()
    status, answer = server.request("/api/v1/image?ocr=0", body, {"content-type": f"multipart/form-data; boundary={boundary}"})
    assert status == 422 and answer["image"] == "x.png" and answer["error"]
    status, answer = server.request("/api/v1/image", b"--nothing", {"content-type": "multipart/form-data"})
    assert status == 400

def test_health_and_metrics(server):
    status, health = server.get("/healthz")
    assert status == 200 and health["cache"]["reachable"] and health["models"]["text"] == "rules"
    # this test's own requests: under xdist the module's other tests may run on another worker's server
    assert server.get("/api/v1/recommend?user=u2&k=10")[0] == 200
    assert server.get("/api/v1/related?item=nope")[0] == 404
    status, page = server.get("/metrics")
    assert status == 200 and 'bunjang_serving_request_seconds_bucket{le="0.005",route="/api/v1/recommend"}' in page
    assert 'bunjang_serving_errors_total{route="/api/v1/related",status="404"}' in page
    assert "bunjang_serving_cache_version" in page


def test_publishes_during_requests_never_mix_versions(server, tmp_path):
    answers, stop = [], threading.Event()
    paths = ["/api/v1/recommend?user=u2&k=10", "/api/v1/popular?k=10", "/api/v1/related?item=i4&k=10"]

    def ask():
        while not stop.is_set():
            for path in paths:
                answers.append((path, server.get(path)))

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    versions = [publish_run(write_run(tmp_path / f"run-{seed}", seed=seed), server.cache_url)["version"] for seed in (1, 2)]
    time.sleep(0.5)  # the watcher picks the last one up within 0.1 s
    stop.set()
    for thread in threads:
        thread.join()
    assert {status for _, (status, _) in answers} == {200}
    assert versions[-1] in {answer["version"] for _, (_, answer) in answers}
    with open_cache(server.cache_url) as cache:
        for path, (_, answer) in answers:
            name, _, query = path.removeprefix("/api/v1/").partition("?")
            params = {{"user": "user_id", "item": "item_id"}.get(k, k): v for k, v in urllib.parse.parse_qsl(query)}
            with cache.snapshot(answer["version"]) as snap:
                expected = queries.QUERIES[name](snap, params)
            promoted = {i["item_id"] for i in answer["items"] if i.get("ad")}   # a campaign's ads join the feed
            organic = [i for i in expected["items"] if i["item_id"] not in promoted]
            assert {**answer, "items": [i for i in answer["items"] if not i.get("ad")]} == {**expected, "items": organic}, \
                f"{path} mixed versions"


def test_a_publish_is_picked_up_without_a_restart_and_sigterm_lets_requests_in_flight_finish(server, tmp_path):
    version = server.get("/healthz")[1]["cache"]["version"]
    publish_run(write_run(tmp_path / "run2"), server.cache_url)
    deadline = time.monotonic() + 5
    while server.get("/api/v1/popular")[1]["version"] == version:
        assert time.monotonic() < deadline, "the new version was not picked up"
        time.sleep(0.05)
    assert server.get("/healthz")[1]["cache"]["version"] == version + 1
    # a request in flight when SIGTERM comes: its body still on the way
    body = json.dumps({"type": "click", "user_id": "u4", "item_id": "i3"}).encode()
    in_flight = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    in_flight.sendall(b"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
    time.sleep(0.3)  # the service has read the head and waits for the rest
    server.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 5
    while True:  # new connections are refused once the signal is handled
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
        except OSError:
            break
        assert time.monotonic() < deadline, "the service still accepts connections after SIGTERM"
        time.sleep(0.05)
    in_flight.sendall(body[10:])
    with in_flight:
        response = http.client.HTTPResponse(in_flight)
        response.begin()
        assert response.status == 200 and json.loads(response.read())["effect"] == "reranked"
    assert server.proc.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once shut down
    lines = server.log.read_text().splitlines()
    assert "Application shutdown complete." in "\n".join(lines)
    access = [json.loads(line) for line in lines if line.startswith("{")]
    assert {"ts", "method", "path", "status", "ms"} <= set(access[0]) and "Traceback" not in "\n".join(lines)
    assert (access[-1]["path"], access[-1]["status"]) == ("/api/v1/events", 200)  # written out at shutdown



def two_workers(home: Path) -> tuple[Server, set[int]]:
    """A service of two workers over SQLite, and their pids once both answer."""
    url = f"sqlite:///{home / 'cache.sqlite'}"
    publish_run(write_run(home / "run"), url)
    server = Server(url, home, workers=2)
    pids, deadline = set(), time.monotonic() + 60  # the second worker may still be starting
    while len(pids) < 2 and time.monotonic() < deadline:
        pids |= {server.get("/healthz")[1]["pid"] for _ in range(20)}  # a new connection each
    return server, pids


def test_workers_share_the_connections_and_stop_together(tmp_path):
    server, pids = two_workers(tmp_path)
    try:
        assert len(pids) == 2, "every connection went to one worker"
        second = subprocess.run([sys.executable, "-m", "bunjang_lab.score", "serve", "--port", str(server.port), "--cache",
                                 server.cache_url, "--workers", "2"], capture_output=True, text=True, timeout=60,
                                env={**os.environ, "PYTHONPATH": str(SRC)})
        assert second.returncode == 2 and "cannot listen on 127.0.0.1" in second.stderr  # not a quiet share
    finally:
        assert server.stop() == 0
    assert all(not Path(f"/proc/{pid}").exists() for pid in pids)


def test_workers_end_when_their_supervisor_is_killed(tmp_path):
    server, pids = two_workers(tmp_path)
    assert len(pids) == 2
    server.proc.kill()  # SIGKILL: no chance to pass anything on
    server.proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in pids):
        assert time.monotonic() < deadline, "a worker outlived its supervisor"
        time.sleep(0.1)
