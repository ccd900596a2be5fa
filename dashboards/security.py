"""Serving the dashboard to a team: authentication, security headers, request limits.

The policy (README, "Serving for a team"):

- Without authentication the dashboard answers loopback clients only (127.0.0.0/8, ::1), and
  ``dcplan dashboard`` refuses to bind anything but a loopback address.
- HTTP basic authentication: users and *hashes* of their passwords come from a file
  (``DCPLAN_DASHBOARD_USERS_FILE``, lines ``user:scrypt$...``) or an environment variable
  (``DCPLAN_DASHBOARD_USERS``, the same lines separated by commas), never from the command line.
  ``dcplan dashboard --hash-password`` reads a password from the terminal (or stdin) and prints
  the line to store. Passwords are checked with scrypt and compared in constant time.
- Behind a reverse proxy that authenticates (``--behind-proxy``): requests must come from a
  trusted proxy address and carry the proxy's user header (default ``X-Forwarded-User``).
- Every response carries a Content-Security-Policy that Dash works with (its inline scripts
  allowed by hash, ``frame-ancestors 'none'``), ``X-Content-Type-Options: nosniff``,
  ``X-Frame-Options: DENY`` and ``Referrer-Policy: no-referrer``; request bodies are capped at
  :data:`dcplan.limits.REQUEST`.

Configuration travels in environment variables so that every gunicorn worker builds the same
app (``SecurityConfig.from_env``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import os
import secrets
from dataclasses import dataclass, field

from dcplan import limits
from dcplan.errors import InputError

ENV_USERS_FILE = "DCPLAN_DASHBOARD_USERS_FILE"
ENV_USERS = "DCPLAN_DASHBOARD_USERS"
ENV_BEHIND_PROXY = "DCPLAN_DASHBOARD_BEHIND_PROXY"
ENV_PROXY_HEADER = "DCPLAN_DASHBOARD_PROXY_USER_HEADER"
ENV_TRUSTED_PROXIES = "DCPLAN_DASHBOARD_TRUSTED_PROXIES"
DEFAULT_PROXY_HEADER = "X-Forwarded-User"
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")
REALM = "dcplan"

#: scrypt cost (RFC 7914; n=2**14, r=8, p=1 is the interactive-login setting of its authors):
#: about 50 ms per check here, so each wrong guess costs a worker that long.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_USERS_FILE_BYTES = 1_000_000


# --------------------------------------------------------------------------------------------
# Password hashes
# --------------------------------------------------------------------------------------------


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) of ``password``."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash (constant-time comparison)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt" or int(n) > 2**20 or int(r) > 32 or int(p) > 16:
            return False
        want = base64.b64decode(digest, validate=True)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt, validate=True), n=int(n), r=int(r), p=int(p),
                             dklen=len(want), maxmem=2**27)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def parse_users(lines: list[str], source: str) -> dict[str, str]:
    """{user: hash} from ``user:scrypt$...`` lines (blank lines and # comments skipped)."""
    users: dict[str, str] = {}
    for i, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, stored = line.partition(":")
        if not sep or not user or not stored.startswith("scrypt$") or stored.count("$") != 5:
            raise InputError("users", "expected user:scrypt$N$r$p$salt$hash (make one with `dcplan dashboard --hash-password USER`); "
                                      "plain passwords are never stored", file=source, line=i)
        users[user] = stored
    return users


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecurityConfig:
    """How requests are authenticated; built from the environment in every worker."""

    users: dict[str, str] = field(default_factory=dict)
    """user -> scrypt hash (basic authentication when not empty)."""
    behind_proxy: bool = False
    proxy_header: str = DEFAULT_PROXY_HEADER
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")

    @property
    def authenticated(self) -> bool:
        return bool(self.users) or self.behind_proxy

    def describe(self) -> str:
        if self.behind_proxy:
            return f"behind a reverse proxy (user from {self.proxy_header}, proxies {', '.join(self.trusted_proxies)})"
        if self.users:
            return f"HTTP basic authentication ({len(self.users)} user{'s' if len(self.users) > 1 else ''})"
        return "no authentication (loopback clients only)"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> SecurityConfig:
        env = dict(os.environ if env is None else env)
        users: dict[str, str] = {}
        path = env.get(ENV_USERS_FILE)
        if path:
            from dcplan.io.yamlio import read_text

            text = read_text(path, "users", limits.Limit("users file", MAX_USERS_FILE_BYTES, "bytes", "a list of users"))
            users.update(parse_users(text.splitlines(), path))
            if not users:
                raise InputError("users", "no users in the file", file=path)
        if env.get(ENV_USERS):
            users.update(parse_users(env[ENV_USERS].split(","), f"${ENV_USERS}"))
        behind = env.get(ENV_BEHIND_PROXY, "") not in ("", "0", "false", "no")
        proxies = tuple(p.strip() for p in env.get(ENV_TRUSTED_PROXIES, "127.0.0.1,::1").split(",") if p.strip())
        for p in proxies:
            _check_network(p)
        return cls(users=users, behind_proxy=behind, proxy_header=env.get(ENV_PROXY_HEADER) or DEFAULT_PROXY_HEADER,
                   trusted_proxies=proxies)


def _check_network(text: str) -> None:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InputError("trusted-proxy", f"{text!r} is not an IP address or network") from None


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` serves this machine only."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_serving(host: str, config: SecurityConfig) -> None:
    """Refuse to serve off loopback without authentication (exit 2, naming what to do)."""
    if not is_loopback(host) and not config.authenticated:
        raise InputError("host", f"serving on {host} (not loopback) needs authentication: --users-file FILE (or ${ENV_USERS_FILE}) "
                                 "with user:hash lines made by `dcplan dashboard --hash-password USER`, or --behind-proxy behind "
                                 "a reverse proxy that authenticates (README: Serving for a team)")


# --------------------------------------------------------------------------------------------
# The WSGI hook
# --------------------------------------------------------------------------------------------


def content_security_policy(app) -> str:
    """A CSP that Dash runs under: its own inline scripts by hash, nothing from other origins."""
    hashes = " ".join(app.csp_hashes())  # already quoted: 'sha256-...'
    return ("default-src 'self'; "
            f"script-src 'self' {hashes}; "
            "style-src 'self' 'unsafe-inline'; "  # Dash and plotly set style attributes
            "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def _address_in(addr: str, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)


class _Authenticator:
    """Decides whether a request may proceed; remembers good basic credentials by a keyed digest."""

    def __init__(self, config: SecurityConfig) -> None:
        self.config = config
        self._key = secrets.token_bytes(32)
        self._good: dict[str, bytes] = {}

    def _verified(self, header: str) -> bool:
        token = hmac.new(self._key, header.encode("utf-8", "replace"), hashlib.sha256).digest()
        user = self._user(header)
        known = self._good.get(user or "")
        if known is not None and hmac.compare_digest(known, token):
            return True
        password = self._password(header)
        stored = self.config.users.get(user or "")
        # an unknown user costs as much as a wrong password (no user enumeration by timing)
        ok = verify_password(password or "", stored or _dummy_hash()) and stored is not None
        if ok and user is not None:
            self._good[user] = token
        return ok

    @staticmethod
    def _decoded(header: str) -> str | None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic" or len(value) > 4096:
            return None
        try:
            return base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None

    def _user(self, header: str) -> str | None:
        text = self._decoded(header)
        return None if text is None or ":" not in text else text.partition(":")[0]

    def _password(self, header: str) -> str | None:
        text = self._decoded(header)
        return None if text is None or ":" not in text else text.partition(":")[2]

    def check(self, remote_addr: str, headers) -> tuple[int, str] | None:
        """None to proceed, else (status, message)."""
        c = self.config
        if c.behind_proxy:
            if not _address_in(remote_addr, c.trusted_proxies):
                return 403, "requests must come through the authenticating reverse proxy"
            if not headers.get(c.proxy_header, "").strip():
                return 401, f"the reverse proxy sent no {c.proxy_header} header"
            return None
        if c.users:
            header = headers.get("Authorization", "")
            if not header or not self._verified(header):
                return 401, "authentication required"
            return None
        if not _address_in(remote_addr, ("127.0.0.0/8", "::1/128")):
            return 403, "this dashboard serves this machine only: configure authentication to serve a team (README: Serving for a team)"
        return None


@functools.cache
def _dummy_hash() -> str:
    return hash_password("dcplan-no-such-user", salt=b"\0" * 16)


def install(app, config: SecurityConfig | None = None) -> SecurityConfig:
    """Add authentication, security headers and the request size limit to a Dash app's server."""
    from flask import Response, request

    config = config or SecurityConfig.from_env()
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = int(limits.REQUEST.maximum)
    auth = _Authenticator(config)
    csp: list[str] = []

    @server.errorhandler(RecursionError)
    def _too_deep(_exc):  # a JSON body nested thousands deep: the client's fault, not the server's
        return Response("request body nested too deeply\n", status=400, mimetype="text/plain")

    @server.before_request
    def _authenticate():
        refused = auth.check(request.remote_addr or "", request.headers)
        if refused is None:
            return None
        status, message = refused
        response = Response(message + "\n", status=status, mimetype="text/plain")
        if status == 401 and config.users:
            response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
        return response

    @server.after_request
    def _headers(response):
        if not csp:  # Dash's inline scripts are known once the app is set up
            csp.append(content_security_policy(app))
        h = response.headers
        h.setdefault("Content-Security-Policy", csp[0])
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "no-referrer")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response

    return config


def read_password(prompt: str = "Password: ") -> str:
    """A password from the terminal (not echoed), or the first line of stdin when piped."""
    import getpass
    import sys

    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != first:
            raise InputError("password", "the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


def users_line(user: str, password: str) -> str:
    if not user or ":" in user or "," in user or not user.isprintable():
        raise InputError("user", "a user name without ':', ',' or control characters")
    if len(password) < 12:
        raise InputError("password", "use at least 12 characters")
    return f"{user}:{hash_password(password)}"
