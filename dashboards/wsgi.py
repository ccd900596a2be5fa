"""WSGI entry point for production servers: ``gunicorn dashboards.wsgi:application``."""

import gc

from dashboards.app import create_app

application = create_app().server
# The ~150,000 objects of the imported libraries and the app live as long as the worker: moved out
# of the collector's generations, a full collection no longer walks them on every few requests
# (6.8 ms a market-page update before, 0.15 ms after: BENCHMARKS.md, "slider").
gc.freeze()
