"""A team member's client against a served dashboard (run by test_serving_team.py, maybe in a network namespace).

usage: python serving_probe.py HOST PORT USER PASSWORD_FILE SECONDS

Prints one JSON object: the status without, with wrong and with right credentials, the
security headers, and what happened to normal clients while a hostile client sent uploads.
"""

from __future__ import annotations

import base64
import http.client
import json
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import load_test  # noqa: E402  (scripts/load_test.py: the same clients as the benchmark)


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _get(host: str, port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    c = http.client.HTTPConnection(host, port, timeout=30)
    try:
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def main() -> None:
    host, port, user, password_file, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
    password = Path(password_file).read_text().strip()
    good = _basic(user, password)
    load_test.HOST, load_test.HEADERS = host, good
    load_test.wait_ready(port)
    out: dict = {}
    out["no_credentials"] = _get(host, port, "/", {})[0]
    out["no_credentials_challenge"] = _get(host, port, "/", {})[1].get("www-authenticate")
    out["wrong_password"] = _get(host, port, "/", _basic(user, password + "x"))[0]
    out["unknown_user"] = _get(host, port, "/", _basic("mallory", password))[0]
    out["not_basic"] = _get(host, port, "/", {"Authorization": "Bearer x"})[0]
    status, headers, body = _get(host, port, "/", good)
    out["right_credentials"] = status
    out["headers"] = {k: headers.get(k) for k in ("content-security-policy", "x-content-type-options", "x-frame-options")}
    out["page_is_dash"] = b"_dash-config" in body

    # normal clients keep being served while a hostile client sends uploads
    make = load_test.payload_factory(port)
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request("GET", "/_dash-dependencies", headers=good)
    hostile = load_test.hostile_requests(json.loads(c.getresponse().read()))
    once_answered: list = []
    once_served: list = []
    for request in hostile:  # every kind once: each must be answered with an error
        load_test.hostile_client(port, [request], 0, once_answered, once_served)
    out["each_kind_answered"] = len(once_answered)
    out["each_kind_served"] = once_served
    stop = time.time() + seconds
    lat: list[float] = []
    errors: list[str] = []
    answered: list = []
    served: list = []
    threads = [threading.Thread(target=load_test.client, args=(port, make, stop, lat, errors)) for _ in range(2)]
    threads.append(threading.Thread(target=load_test.hostile_client, args=(port, hostile, stop, answered, served)))
    for t in threads:
        t.start()
    pages = []
    while time.time() < stop:
        pages.append(_get(host, port, "/_dash-layout", good)[0])
        time.sleep(0.2)
    for t in threads:
        t.join()
    out["normal_requests"] = len(lat)
    out["normal_errors"] = errors[:10]
    out["page_statuses"] = sorted(set(pages))
    out["hostile_answered"] = len(answered)
    out["hostile_kinds_answered"] = sorted({name for name, _ in answered})
    out["hostile_served"] = served[:10]
    out["hostile_total_kinds"] = len(hostile)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
