"""The accelerator roadmap: H100-equivalents, power and price of each year's shipments (vintage).

Catalog generations (V100, A100, H100, B200...) give H100e per accelerator (dense peak / H100
SXM BF16 peak), server power per accelerator (node power / accelerators per node) and a
published price per accelerator. A vintage year ships a mix of the newest generation and the
one before: in a generation's ``first_vintage`` half the units are the new generation, a year
later all of them (NVIDIA's Hopper and Blackwell ramps each took about four quarters to
dominate shipments: NVIDIA FY2024 and FY2026 earnings calls). After the last catalog
generation's ramp the roadmap extrapolates year by year: H100e per accelerator grows by
``chip_perf_growth_per_year``, FLOP/s per watt by ``chip_flops_per_watt_growth_per_year`` and
FLOP/s per dollar by ``price_performance_gain_per_year`` (Hobbhahn & Besiroglu, "Trends in GPU
price-performance", Epoch AI 2022: ML GPUs double every 2.07 years; the catalog's own V100 to
B200 steps are printed by ``generation_table``). Pure and vectorised: arrays [n, vintages].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dcplan.forecast.scenario import Generation


@dataclass(frozen=True, kw_only=True, eq=False)
class VintageSpec:
    """Per vintage (ship year) and sample: what one accelerator shipped that year is."""

    h100e_per_unit: np.ndarray
    """[n, years] H100-equivalents per accelerator."""
    server_w_per_unit: np.ndarray
    """[n, years] peak server power per accelerator (before the IT overhead factor) [W]."""
    usd_per_unit: np.ndarray
    """[n, years] price per accelerator [USD]."""

    @property
    def usd_per_h100e(self) -> np.ndarray:
        return self.usd_per_unit / self.h100e_per_unit

    @property
    def server_w_per_h100e(self) -> np.ndarray:
        return self.server_w_per_unit / self.h100e_per_unit


def catalog_generations(gens: tuple[Generation, ...]) -> list[Generation]:
    """The generations that name a catalog accelerator (the others only label vintages)."""
    return [g for g in gens if g.hardware is not None]


def mix_weights(years: np.ndarray, cat: list[Generation]) -> np.ndarray:
    """[generations, years] share of units of each catalog generation in each vintage.

    Generation g takes half the units in its ``first_vintage`` and all of them a year later;
    the rest are the generation before. Beyond the last generation's ramp the weights stay on it
    (the extrapolation in :func:`vintages` takes over).
    """
    w = np.zeros((len(cat), len(years)))
    w[0] = 1.0
    for i in range(1, len(cat)):
        ramp = np.clip((years - cat[i].first_vintage + 1) / 2.0, 0.0, 1.0)
        w[:i] *= 1.0 - ramp
        w[i] = ramp
    return w


def vintages(years: np.ndarray, gens: tuple[Generation, ...], perf_growth: np.ndarray, fpw_growth: np.ndarray,
             price_perf_growth: np.ndarray, price_scale: np.ndarray) -> VintageSpec:
    """Per-vintage H100e, server power and price per accelerator for ``n`` samples ([n] growth drivers)."""
    cat = catalog_generations(gens)
    w = mix_weights(years, cat)
    ppg = np.asarray(price_perf_growth, dtype=float)
    h = np.array([g.h100e_per_unit for g in cat], dtype=float) @ w
    watts = np.array([g.server_power_w for g in cat], dtype=float) @ w
    usd = generation_prices(cat, ppg) @ w  # [n, years]
    last = cat[-1].first_vintage + 1  # the last catalog generation is all of the units from here
    k = np.maximum(years - last, 0)[None, :].astype(float)
    perf = np.asarray(perf_growth, dtype=float)[:, None] ** k
    h_n = h[None, :] * perf
    # per H100e: watts fall by FLOP/s-per-watt growth, dollars by price-performance growth
    w_n = watts[None, :] / h[None, :] / np.asarray(fpw_growth, dtype=float)[:, None] ** k * h_n
    p_n = usd / h[None, :] / ppg[:, None] ** k * h_n
    return VintageSpec(h100e_per_unit=h_n, server_w_per_unit=w_n, usd_per_unit=p_n * np.asarray(price_scale, dtype=float)[:, None])


def generation_prices(cat: list[Generation], price_perf_growth: np.ndarray) -> np.ndarray:
    """[n, generations] USD per accelerator; a generation without a published price takes the previous one's
    price per H100e divided by the price-performance growth over the years between them."""
    out = np.empty((len(price_perf_growth), len(cat)))
    for i, g in enumerate(cat):
        if g.usd_per_unit is not None:
            out[:, i] = g.usd_per_unit
        else:  # the loader requires a price on the first generation
            prev = cat[i - 1]
            per_h = out[:, i - 1] / prev.h100e_per_unit / price_perf_growth ** (g.first_vintage - prev.first_vintage)  # type: ignore[operator]
            out[:, i] = per_h * g.h100e_per_unit  # type: ignore[operator]
    return out


def generation_of_vintage(years: np.ndarray, gens: tuple[Generation, ...]) -> tuple[str, ...]:
    """Name of the generation each vintage is counted under (the latest whose first vintage has come)."""
    out = []
    for y in years:
        g = max((g for g in gens if g.first_vintage <= y), key=lambda g: g.first_vintage, default=gens[0])
        out.append(g.name)
    return tuple(out)


def generation_table(gens: tuple[Generation, ...], peak_flops_per_s: float) -> list[dict[str, float | str | None]]:
    """FLOP/s per watt and per dollar of each catalog generation, and the yearly rate between them.

    The rows the roadmap is built on, for reports: dense FLOP/s (precision as configured) per
    watt of server power and per dollar of published price, and the compound yearly gain from
    the previous catalog generation.
    """
    rows: list[dict[str, float | str | None]] = []
    prev = None
    for g in catalog_generations(gens):
        flops = g.h100e_per_unit * peak_flops_per_s  # type: ignore[operator]
        per_w = flops / g.server_power_w  # type: ignore[operator]
        per_usd = flops / g.usd_per_unit if g.usd_per_unit else None
        row: dict[str, float | str | None] = {"generation": g.name, "hardware": g.hardware, "first_vintage": g.first_vintage,
                                              "flops_per_s_per_w": per_w, "flops_per_s_per_usd": per_usd,
                                              "per_w_gain_per_year": None, "per_usd_gain_per_year": None}
        if prev is not None:
            dt = g.first_vintage - prev["first_vintage"]
            row["per_w_gain_per_year"] = (per_w / prev["flops_per_s_per_w"]) ** (1.0 / dt)
            if per_usd and prev["flops_per_s_per_usd"]:
                row["per_usd_gain_per_year"] = (per_usd / prev["flops_per_s_per_usd"]) ** (1.0 / dt)
        rows.append(row)
        prev = row
    return rows
