"""Serve the dashboard with gunicorn (a production WSGI server), or Dash's debug server."""

from __future__ import annotations

import os

from dcplan import limits


def serve(*, host: str = "127.0.0.1", port: int = 8050, workers: int = 2, threads: int = 1, debug: bool = False,
          env: dict[str, str] | None = None) -> None:
    """Serve until interrupted. Workers each build their own app (no shared mutable state).

    ``threads`` > 1 serves each worker with a thread pool (gunicorn's gthread worker): the
    forecast's numpy calls release the GIL only for large arrays, so on the market page one
    process per core with one thread each answers faster (measured in BENCHMARKS.md).
    """
    os.environ.update(env or {})
    if debug:
        from dashboards.app import create_app

        create_app().run(host=host, port=port, debug=True)
        return
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            # no request holds a worker longer than this: gunicorn kills and replaces it
            self.cfg.set("timeout", limits.WORKER_TIMEOUT_S)
            self.cfg.set("graceful_timeout", 30)
            self.cfg.set("limit_request_line", 8190)
            self.cfg.set("limit_request_fields", 100)
            self.cfg.set("limit_request_field_size", 8190)
            self.cfg.set("accesslog", None)
            self.cfg.set("loglevel", "warning")
            self.cfg.set("proc_name", "dcplan-dashboard")

        def load(self):
            from dashboards.wsgi import application

            return application

    _App().run()
