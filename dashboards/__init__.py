"""The dcplan dashboard: a Dash app over dcplan's result objects.

``create_app()`` builds the app; pages live in ``dashboards.pages`` (layout + thin callbacks),
figures come from ``dcplan.figures`` (shared with the reports), component ids from
``dashboards.ids``. Served by gunicorn (``dcplan dashboard``).
"""

from dashboards.app import create_app

__all__ = ["create_app"]
