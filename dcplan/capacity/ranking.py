"""Rank hardware options by what the workload costs on them, and say what decides it.

Every option meets the same deadlines, latency targets and demand, so the cheapest annualised
TCO wins. The deciding factor is the TCO component (annualised accelerators, servers, network,
facility; electricity, maintenance, staff) with the largest difference between two options,
explained by what drives it: accelerator counts and prices, or power.
"""

from __future__ import annotations

from dcplan.capacity.result import OptionPlan, RankEntry
from dcplan.i18n import ENGLISH, Translator
from dcplan.units import usd

_LABELS = {
    "accelerators": "accelerator capex",
    "servers": "server capex",
    "network": "network capex",
    "facility": "facility capex",
    "electricity": "electricity",
    "maintenance": "maintenance",
    "staff": "staff",
}


def _driver(part: str, a: OptionPlan, b: OptionPlan, _: Translator = ENGLISH) -> str:
    """Why ``a`` and ``b`` differ on ``part``."""
    if part in ("electricity", "facility"):
        return _("{a} draws {a_mw} MW IT vs {b_mw} MW for {b}").format(a=a.hardware, a_mw=f"{a.it_mw:.3g}", b_mw=f"{b.it_mw:.3g}", b=b.hardware)
    per_a = a.capex_breakdown_usd["accelerators"] / a.accelerators
    per_b = b.capex_breakdown_usd["accelerators"] / b.accelerators
    return _("{a} needs {a_n} accelerators at {a_price} vs {b_n} at {b_price} for {b}").format(
        a=a.hardware, a_n=f"{a.accelerators:,}", a_price=usd(per_a, locale=_.lang), b_n=f"{b.accelerators:,}", b_price=usd(per_b, locale=_.lang), b=b.hardware)


def deciding_factor(win: OptionPlan, lose: OptionPlan, tr: Translator = ENGLISH) -> str:
    """The TCO component that separates ``win`` (cheaper) from ``lose`` most, with its driver (in ``tr``'s language)."""
    _ = tr
    diffs = {k: lose.tco_breakdown_usd_per_year[k] - win.tco_breakdown_usd_per_year[k] for k in win.tco_breakdown_usd_per_year}
    part = max(diffs, key=lambda k: abs(diffs[k]))
    saving = diffs[part]
    text = _("{part} {amount}/yr lower on {win} than {lose}: {driver}") if saving > 0 else _("{part} {amount}/yr higher on {win} than {lose}: {driver}")
    return text.format(part=_(_LABELS[part]), amount=usd(abs(saving), locale=_.lang), win=win.hardware, lose=lose.hardware, driver=_driver(part, win, lose, _))


def reasons(options: list[OptionPlan], tr: Translator = ENGLISH) -> dict[str, str]:
    """Each option's deciding factor (as ``rank_options`` gives it), in ``tr``'s language: option name -> text."""
    _ = tr
    order = sorted(options, key=lambda o: o.tco_usd_per_year)
    best = order[0]
    if len(order) == 1:
        return {best.hardware: _("the only option that can run this workload")}
    return {o.hardware: deciding_factor(o, order[1], tr) if i == 0 else deciding_factor(best, o, tr) for i, o in enumerate(order)}


def rank_options(options: list[OptionPlan]) -> list[RankEntry]:
    """Options cheapest first; the winner's factor is against the runner-up, the others' against the winner."""
    order = sorted(options, key=lambda o: o.tco_usd_per_year)
    best = order[0]
    why_of = reasons(options)
    out = []
    for o in order:
        why = why_of[o.hardware]
        out.append(RankEntry(
            rank=len(out) + 1, hardware=o.hardware, tco_usd_per_year=o.tco_usd_per_year, usd_per_mtok=o.usd_per_mtok,
            usd_per_accelerator_hour=o.usd_per_accelerator_hour, tco_vs_best_frac=o.tco_usd_per_year / best.tco_usd_per_year - 1.0,
            deciding_factor=why, warnings=o.warnings,
        ))
    return out


def price_cut_to_win(options: list[OptionPlan]) -> dict[str, float | None]:
    """For each option but the cheapest: the cut of its accelerator price that would close its TCO gap.

    The TCO gap to the best option divided by the option's annualised accelerator cost (capex x
    CRF, which scales with the price). Maintenance charged on that capex would fall too, so this
    slightly overstates the cut needed: an upper bound. None when even free accelerators would
    not close the gap.
    """
    order = sorted(options, key=lambda o: o.tco_usd_per_year)
    best = order[0]
    out: dict[str, float | None] = {}
    for o in order[1:]:
        gap = o.tco_usd_per_year - best.tco_usd_per_year
        acc = o.tco_breakdown_usd_per_year.get("accelerators", 0.0)
        out[o.hardware] = gap / acc if acc > 0 and gap <= acc else None
    return out


def price_rise_to_lose(options: list[OptionPlan]) -> tuple[str, str, float] | None:
    """(winner, runner-up, rise) where a rise of the winner's accelerator price by ``rise``
    (a fraction) would make its TCO equal the runner-up's; None with fewer than two options.
    The same linear argument as :func:`price_cut_to_win`, seen from the winner."""
    order = sorted(options, key=lambda o: o.tco_usd_per_year)
    if len(order) < 2:
        return None
    best, second = order[0], order[1]
    acc = best.tco_breakdown_usd_per_year.get("accelerators", 0.0)
    gap = second.tco_usd_per_year - best.tco_usd_per_year
    return (best.hardware, second.hardware, gap / acc) if acc > 0 else None
