"""WSGI entry point for production servers: ``gunicorn dashboards.wsgi:application``."""

from dashboards.app import create_app

application = create_app().server
