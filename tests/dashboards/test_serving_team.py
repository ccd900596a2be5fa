"""The real server (gunicorn) served to a team: off loopback only with authentication.

The non-loopback address lives in network namespaces this test makes itself (``ip netns`` and a
veth pair, as root): the server in one namespace at 192.0.2.1, a team member's client in another
at 192.0.2.2 (TEST-NET-1, RFC 5737: documentation addresses that no network routes). Where
namespaces cannot be made, the server binds 0.0.0.0 and is contacted through loopback.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dashboards.security import hash_password

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("serving_probe.py")
SERVER_ADDR, CLIENT_ADDR = "192.0.2.1", "192.0.2.2"
PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.slow


def _sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def netns():
    """(server namespace, client namespace) joined by a veth pair, or None where not allowed."""
    tag = os.getpid() % 100000
    srv, cli = f"dcplan-srv-{tag}", f"dcplan-cli-{tag}"
    try:
        _sh("ip", "netns", "add", srv)
        _sh("ip", "netns", "add", cli)
        _sh("ip", "link", "add", f"dcs{tag}", "type", "veth", "peer", "name", f"dcc{tag}")
        _sh("ip", "link", "set", f"dcs{tag}", "netns", srv)
        _sh("ip", "link", "set", f"dcc{tag}", "netns", cli)
        for ns, dev, addr in ((srv, f"dcs{tag}", SERVER_ADDR), (cli, f"dcc{tag}", CLIENT_ADDR)):
            _sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{addr}/24", "dev", dev)
            _sh("ip", "netns", "exec", ns, "ip", "link", "set", dev, "up")
            _sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
    except (OSError, subprocess.SubprocessError):
        for ns in (srv, cli):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        yield None
        return
    try:
        yield srv, cli
    finally:
        for ns in (srv, cli):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.fixture(scope="module")
def users(tmp_path_factory):
    d = tmp_path_factory.mktemp("auth")
    (d / "users").write_text(f"# dcplan dashboard users\nalice:{hash_password(PASSWORD)}\n")
    (d / "password").write_text(PASSWORD)
    (d / "profiles").mkdir()
    os.environ["DCPLAN_TEST_EMPTY_PROFILES"] = str(d / "profiles")
    return d


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _in(ns: str | None, cmd: list[str]) -> list[str]:
    return ["ip", "netns", "exec", ns, *cmd] if ns else cmd


@contextlib.contextmanager
def _server(cmd: list[str], ns: str | None = None):
    # an empty profiles folder: no calibration job in the background of a short test
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DCPLAN_PROFILES_DIR": os.environ.get("DCPLAN_TEST_EMPTY_PROFILES", "/nonexistent")}
    proc = subprocess.Popen(_in(ns, cmd), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _dashboard(host: str, port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "dcplan", "dashboard", "--host", host, "--port", str(port), "--workers", "2", *extra]


def _probe(ns: str | None, host: str, port: int, users: Path, seconds: float = 12) -> dict:
    res = subprocess.run(_in(ns, [sys.executable, str(PROBE), host, str(port), "alice", str(users / "password"), str(seconds)]),
                         capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def _check_team(out: dict) -> None:
    assert out["no_credentials"] == 401 and out["no_credentials_challenge"].startswith("Basic realm=")
    assert out["wrong_password"] == 401 and out["unknown_user"] == 401 and out["not_basic"] == 401
    assert out["right_credentials"] == 200 and out["page_is_dash"]
    csp = out["headers"]["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "'unsafe-eval'" not in csp
    assert out["headers"]["x-content-type-options"] == "nosniff" and out["headers"]["x-frame-options"] == "DENY"
    # a hostile client's uploads are answered with an error; the others are served all along
    assert out["each_kind_served"] == [] and out["each_kind_answered"] == out["hostile_total_kinds"] >= 40, out
    assert out["hostile_served"] == [] and out["hostile_answered"] > 0, out
    assert out["normal_errors"] == [] and out["normal_requests"] > 0 and out["page_statuses"] == [200], out


def test_off_loopback_needs_authentication(run_cli):
    for host in ("0.0.0.0", "::", SERVER_ADDR, "dcplan.example"):
        res = run_cli("dashboard", "--host", host, "--port", str(_port()), timeout=60)
        assert res.returncode == 2 and "needs authentication" in res.stderr and res.stderr.count("\n") == 1, res.stderr


def test_team_member_in_another_namespace(netns, users):
    if netns is None:
        pytest.skip("network namespaces unavailable here: test_all_interfaces_through_loopback covers the server")
    srv, cli = netns
    port = _port()
    res = subprocess.run(_in(srv, _dashboard(SERVER_ADDR, port)), capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert res.returncode == 2 and "needs authentication" in res.stderr  # refused in the namespace too
    with _server(_dashboard(SERVER_ADDR, port, "--users-file", str(users / "users")), srv):
        _check_team(_probe(cli, SERVER_ADDR, port, users))


def test_all_interfaces_through_loopback(users):
    port = _port()
    with _server(_dashboard("0.0.0.0", port, "--users-file", str(users / "users"))):
        _check_team(_probe(None, "127.0.0.1", port, users, seconds=8))


def test_loopback_without_authentication_still_serves():
    import http.client

    port = _port()
    with _server(_dashboard("127.0.0.1", port)):
        sys.path.insert(0, str(ROOT / "scripts"))
        import load_test

        load_test.HOST, load_test.HEADERS = "127.0.0.1", {}
        load_test.wait_ready(port)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", "/")
        assert c.getresponse().status == 200


def test_gunicorn_started_by_hand_refuses_remote_clients(netns):
    """An operator who bypasses `dcplan dashboard` (gunicorn dashboards.wsgi:application -b 0.0.0.0)
    still serves nobody but this machine until authentication is configured."""
    if netns is None:
        pytest.skip("network namespaces unavailable here")
    srv, cli = netns
    port = _port()
    cmd = [sys.executable, "-m", "gunicorn", "-b", f"{SERVER_ADDR}:{port}", "-w", "1", "dashboards.wsgi:application"]
    with _server(cmd, srv) as proc:
        probe = ("import http.client,time,sys\n"
                 "for _ in range(200):\n"
                 "    try:\n"
                 f"        c=http.client.HTTPConnection('{SERVER_ADDR}',{port},timeout=5); c.request('GET','/'); r=c.getresponse()\n"
                 "        print(r.status, r.read().decode()[:80]); break\n"
                 "    except OSError: time.sleep(0.3)\n")
        res = subprocess.run(_in(cli, [sys.executable, "-c", probe]), capture_output=True, text=True, timeout=120)
        assert res.stdout.startswith("403 this dashboard serves this machine only"), (res.stdout, res.stderr, proc.poll())


def test_hash_password_reads_stdin_not_argv(run_cli):
    res = subprocess.run([sys.executable, "-m", "dcplan", "dashboard", "--hash-password", "bob"], input="a long enough secret\n",
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert res.returncode == 0
    user, _, stored = res.stdout.strip().partition(":")
    assert user == "bob" and stored.startswith("scrypt$") and "secret" not in res.stdout
