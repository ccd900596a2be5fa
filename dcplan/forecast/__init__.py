"""Market forecast: AI compute demand -> accelerators, MW, TWh, dollars and CO2e, with uncertainty.

Layout: ``scenario`` (drivers, distributions, the spec), ``sampling`` (Latin hypercube,
Iman-Conover), ``demand``/``supply``/``power``/``economics`` (the equations), ``chain`` (all of
them vectorised over samples), ``engine`` (``run_forecast``), ``sensitivity`` (tornado, Sobol),
``backtest`` (vintage hindcasts scored against history), ``result`` (the typed ``Forecast``).
scipy is imported only by the modules that need it. Nothing here reads files, except that
``run_forecast`` given a scenario *name* asks ``dcplan.io.scenario`` to load it, and the
``reconcile`` command line does the same.
"""

from dcplan.forecast.engine import run_forecast
from dcplan.forecast.result import Forecast, MetricSummary

__all__ = ["run_forecast", "Forecast", "MetricSummary"]
