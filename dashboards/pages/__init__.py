"""Dashboard pages: each module has PATH, TITLE, layout(settings) and register_callbacks(app, settings)."""
