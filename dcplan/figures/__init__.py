"""Figures: pure functions from dcplan result objects to plotly Figures.

One module per stage (calibration, plan, forecast); the dashboard and the reports both call
them and compute nothing of their own. plotly is imported here only, never by the model.
"""

import plotly.io as _pio

# The house style: set once as plotly's default template. Figures never name a template, so
# each figure reuses the cached default instead of deep-copying a named one (12 ms a figure).
_pio.templates.default = "plotly_white"
