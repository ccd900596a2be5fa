"""Figures: pure functions from dcplan result objects to plotly Figures.

One module per stage (calibration, plan, forecast); the dashboard and the reports both call
them and compute nothing of their own. plotly is imported here only, never by the model.
"""
