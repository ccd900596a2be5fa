"""Market forecast: AI compute demand -> accelerators, MW, TWh, dollars and CO2e, with uncertainty.

Layout: ``scenario`` (drivers, distributions, the spec), ``sampling`` (Latin hypercube,
Iman-Conover), ``conditioning`` (draws updated with the start year's fleet), the chain's stages
``demand`` -> ``roadmap``/``supply``/``grid`` -> ``power`` -> ``economics`` -> ``regions`` run by
``chain`` (vectorised over samples, each stage recomputable from the cached ones before it),
``engine`` (``run_forecast``), ``headline`` (the headline metrics and their anchors),
``sensitivity`` (tornado, Sobol), ``backtest`` (vintage hindcasts scored on independent points),
``reconcile`` (the start year's fleet beside the demand chain), ``result`` (the typed
``Forecast``). Nothing here reads files: scenarios and market data are loaded at the edge
(``dcplan.io.scenario``, ``dcplan.io.market``) and passed in.
"""

from dcplan.forecast.engine import run_forecast
from dcplan.forecast.result import Forecast, MetricSummary

__all__ = ["run_forecast", "Forecast", "MetricSummary"]
