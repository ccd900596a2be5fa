"""dashboards/security.py and the server-side checks of what a browser sends (no server process)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from dashboards import security
from dashboards.security import SecurityConfig
from dcplan.errors import InputError

HOSTILE = Path(__file__).resolve().parents[1] / "io" / "hostile"
PASSWORD = "correct horse battery staple"


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_hash_and_verify():
    stored = security.hash_password(PASSWORD)
    assert stored.startswith("scrypt$16384$8$1$") and PASSWORD not in stored
    assert security.verify_password(PASSWORD, stored)
    assert not security.verify_password(PASSWORD + "!", stored)
    assert security.hash_password(PASSWORD) != stored  # salted
    for broken in ("", "scrypt$", "md5$1$1$1$x$y", "scrypt$99999999$8$1$AA==$AA==", "scrypt$16384$8$1$!!$??"):
        assert not security.verify_password(PASSWORD, broken)


def test_plain_passwords_are_refused_in_users_files(tmp_path):
    p = tmp_path / "users"
    p.write_text("alice:hunter2\n")
    with pytest.raises(InputError, match="plain passwords are never stored") as info:
        SecurityConfig.from_env({security.ENV_USERS_FILE: str(p)})
    assert info.value.line == 1
    with pytest.raises(InputError, match="no users"):
        p.write_text("# nobody\n")
        SecurityConfig.from_env({security.ENV_USERS_FILE: str(p)})
    with pytest.raises(InputError, match="not found"):
        SecurityConfig.from_env({security.ENV_USERS_FILE: str(tmp_path / "missing")})


def test_config_from_file_and_environment(tmp_path):
    p = tmp_path / "users"
    p.write_text(f"alice:{security.hash_password(PASSWORD)}\n\n")
    env = {security.ENV_USERS_FILE: str(p), security.ENV_USERS: f"bob:{security.hash_password('another long one')}"}
    c = SecurityConfig.from_env(env)
    assert set(c.users) == {"alice", "bob"} and c.authenticated
    assert not SecurityConfig.from_env({}).authenticated
    with pytest.raises(InputError, match="trusted-proxy"):
        SecurityConfig.from_env({security.ENV_BEHIND_PROXY: "1", security.ENV_TRUSTED_PROXIES: "not-an-ip"})


@pytest.mark.parametrize("host,loop", [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True), ("localhost", True),
                                       ("0.0.0.0", False), ("::", False), ("192.0.2.1", False), ("example.org", False)])
def test_loopback(host, loop):
    assert security.is_loopback(host) is loop
    if not loop:
        with pytest.raises(InputError, match="needs authentication"):
            security.check_serving(host, SecurityConfig())


def test_users_line_never_takes_short_passwords():
    with pytest.raises(InputError, match="12 characters"):
        security.users_line("alice", "short")
    with pytest.raises(InputError, match="user"):
        security.users_line("a:b", PASSWORD)


# --------------------------------------------------------------------------------------------
# The WSGI hook, through Flask's test client
# --------------------------------------------------------------------------------------------


def _client(monkeypatch, tmp_path, env: dict[str, str]):
    for k in (security.ENV_USERS_FILE, security.ENV_USERS, security.ENV_BEHIND_PROXY, security.ENV_TRUSTED_PROXIES):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    from dashboards import create_app
    from dashboards.app import Settings

    profiles = tmp_path / "profiles"
    profiles.mkdir(exist_ok=True)
    return create_app(Settings(profiles_dir=profiles)).server.test_client()


def test_basic_auth_and_headers(monkeypatch, tmp_path):
    c = _client(monkeypatch, tmp_path, {security.ENV_USERS: f"alice:{security.hash_password(PASSWORD)}"})
    r = c.get("/")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith('Basic realm="dcplan"')
    assert c.get("/", headers=_basic("alice", "wrong")).status_code == 401
    assert c.get("/", headers=_basic("eve", PASSWORD)).status_code == 401
    assert c.get("/", headers={"Authorization": "Basic !!!"}).status_code == 401
    r = c.get("/", headers=_basic("alice", PASSWORD))
    assert r.status_code == 200
    assert c.get("/", headers=_basic("alice", PASSWORD)).status_code == 200  # the remembered digest
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self' 'sha256-" in csp and "unsafe-eval" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"
    assert c.get("/", headers=_basic("alice", PASSWORD), environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200


def test_without_auth_only_loopback_clients(monkeypatch, tmp_path):
    c = _client(monkeypatch, tmp_path, {})
    assert c.get("/").status_code == 200
    r = c.get("/", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert r.status_code == 403 and b"serves this machine only" in r.data
    assert "Content-Security-Policy" in r.headers


def test_behind_proxy(monkeypatch, tmp_path):
    c = _client(monkeypatch, tmp_path, {security.ENV_BEHIND_PROXY: "1", security.ENV_TRUSTED_PROXIES: "192.0.2.5"})
    assert c.get("/", environ_base={"REMOTE_ADDR": "192.0.2.9"}, headers={"X-Forwarded-User": "alice"}).status_code == 403
    assert c.get("/", environ_base={"REMOTE_ADDR": "192.0.2.5"}).status_code == 401
    assert c.get("/", environ_base={"REMOTE_ADDR": "192.0.2.5"}, headers={"X-Forwarded-User": "alice"}).status_code == 200


def test_request_size_and_depth(monkeypatch, tmp_path):
    from dcplan import limits

    c = _client(monkeypatch, tmp_path, {})
    big = b"x" * (int(limits.REQUEST.maximum) + 1)
    assert c.post("/_dash-update-component", data=big, content_type="application/json").status_code == 413
    deep = b'{"output": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert c.post("/_dash-update-component", data=deep, content_type="application/json").status_code == 400
    assert c.get("/_dash-layout").status_code == 200  # and the app goes on


# --------------------------------------------------------------------------------------------
# Values a browser sends are checked on the server
# --------------------------------------------------------------------------------------------


def _data_url(raw: bytes) -> str:
    return "data:application/octet-stream;base64," + base64.b64encode(raw).decode()


@pytest.mark.parametrize("path", sorted(HOSTILE.glob("*.yaml")), ids=lambda p: p.name)
def test_hostile_uploads_are_errors_in_the_page(path):
    """Every hostile YAML uploaded to the market or planner page is an InputError (shown in the page)."""
    from dashboards.pages import market, planner

    for parse in (lambda t: market.scenario_from(market.source_for_upload(t)), planner.plan_from_text):
        with pytest.raises(InputError):
            parse(market.decode_upload(_data_url(path.read_bytes()), path.name))


def test_hostile_profile_uploads(tmp_path):
    from dashboards.pages import profiles

    for path in sorted(HOSTILE.glob("*.json")):
        with pytest.raises(InputError):
            profiles.calibrate_text(profiles.decode_upload(_data_url(path.read_bytes()), path.name), path.name)


def test_forged_values_reach_no_file_on_the_server(tmp_path):
    from dashboards.app import Settings
    from dashboards.pages import market, profiles, reports
    from dashboards.uploads import check_workload_text

    secret = tmp_path / "secret.yaml"
    secret.write_text("name: secret\n")
    for source in (f"name:{secret}", "name:../../data/scenarios/base", f"yaml:x\nname: up\nextends: {secret}\n", "yaml:x\nextends: ../base\n"):
        with pytest.raises(InputError):
            market.scenario_from(source)
    with pytest.raises(InputError, match="reads no files"):
        check_workload_text("name: w\nhardware: [{name: h100-sxm, profile: /etc/hostname}]\ntraining: []\n")
    with pytest.raises(InputError, match="format"):
        reports.build("exe", "base", None)
    with pytest.raises(InputError, match="scenario"):
        reports.build("md", str(secret), None)
    with pytest.raises(InputError, match="choose a profile"):
        profiles._listed_profile_text(Settings(profiles_dir=tmp_path), str(secret))
    with pytest.raises(InputError, match="text field"):
        check_workload_text("#" * 1_000_001)


@pytest.mark.browser
@pytest.mark.slow
def test_pages_run_under_the_content_security_policy(dash_duo, quiet_app):
    """Every page renders in Chromium with the CSP on, and the browser reports no violation."""
    dash_duo.start_server(quiet_app)
    for path, element in (("/", "#nav-hardware"), ("/planner", "#nav-planner"), ("/market", "#mkt-fan .main-svg"), ("/reports", "#rep-build")):
        dash_duo.wait_for_page(url=dash_duo.server_url + path)
        dash_duo.wait_for_element(element, timeout=30)
    logs = dash_duo.driver.get_log("browser")
    violations = [entry["message"] for entry in logs if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]]
    assert violations == []
