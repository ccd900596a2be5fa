"""Read market history and published forecasts (data/market/*.csv), each row with its source."""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

from dcplan.errors import InputError
from dcplan.forecast.scenario import SpendHistory
from dcplan.io.catalog import data_dir


@dataclass(frozen=True, kw_only=True)
class Observation:
    """One published number dcplan is scored against or compared with."""

    metric: str
    """dcplan metric key it compares with (energy_twh, capex_usd ...)."""
    region: str
    """world or a region key (us, china, ...)."""
    year: int
    value: float
    """In the metric's SI unit (TWh, USD, W...)."""
    low: float | None
    high: float | None
    kind: str
    """actual | published (a forecast by someone else)."""
    label: str
    """What was measured or forecast, as the source says it."""
    scope: str
    """like-for-like | different-scope: whether dcplan's metric measures the same thing."""
    role: str
    """check (dcplan was not set from it) | anchor (a parameter or the history was set from it)."""
    quality: str
    source: str
    notes: str = ""


def _market_file(name: str) -> Path:
    p = data_dir() / "market" / name
    if not p.exists():
        raise InputError("", "market data file missing", file=str(p))
    return p


def _rows(name: str) -> list[tuple[int, dict[str, str]]]:
    path = _market_file(name)
    with path.open(encoding="utf-8", newline="") as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    return [(i + 2, row) for i, row in enumerate(csv.DictReader(lines))]


def _num(row: dict[str, str], key: str, file: str, line: int, *, required: bool = True) -> float | None:
    text = (row.get(key) or "").strip()
    if not text:
        if required:
            raise InputError(key, "missing number", file=file, line=line)
        return None
    try:
        return float(text)
    except ValueError:
        raise InputError(key, f"not a number: {text!r}", file=file, line=line) from None


def _choice(row: dict[str, str], key: str, allowed: tuple[str, ...], default: str, file: str, line: int) -> str:
    value = (row.get(key) or "").strip() or default
    if value not in allowed:
        raise InputError(key, f"must be one of {', '.join(allowed)}, got {value!r}", file=file, line=line)
    return value


def _mtime(name: str) -> int:
    return _market_file(name).stat().st_mtime_ns


def read_spend_history() -> SpendHistory:
    """Data-centre GPU revenue by calendar year [USD] (accelerator_spend.csv); re-read when the file changes."""
    return _spend_history(str(_market_file("accelerator_spend.csv")), _mtime("accelerator_spend.csv"))


def read_observations() -> tuple[Observation, ...]:
    """History (actuals) and published forecasts in dcplan's metric units (observations.csv); re-read when the file changes."""
    return _observations(str(_market_file("observations.csv")), _mtime("observations.csv"))


@functools.lru_cache(maxsize=4)
def _spend_history(path: str, mtime_ns: int) -> SpendHistory:
    name = "accelerator_spend.csv"
    file = str(_market_file(name))
    years, spend, sources = [], [], []
    for line, row in _rows(name):
        years.append(int(_num(row, "year", file, line)))  # type: ignore[arg-type]
        spend.append(float(_num(row, "gpu_spend_usd", file, line)))  # type: ignore[arg-type]
        sources.append(f"{row.get('source', '')} [{row.get('quality', '')}]")
    if years != list(range(years[0], years[-1] + 1)):
        raise InputError("year", "years must be consecutive", file=file)
    return SpendHistory(years=tuple(years), gpu_spend_usd=tuple(spend), sources=tuple(sources))


@functools.lru_cache(maxsize=4)
def _observations(path: str, mtime_ns: int) -> tuple[Observation, ...]:
    name = "observations.csv"
    file = str(_market_file(name))
    out = []
    for line, row in _rows(name):
        kind = row.get("kind", "").strip()
        if kind not in ("actual", "published"):
            raise InputError("kind", f"must be actual or published, got {kind!r}", file=file, line=line)
        out.append(
            Observation(
                metric=row["metric"].strip(),
                region=row["region"].strip(),
                year=int(_num(row, "year", file, line)),  # type: ignore[arg-type]
                value=float(_num(row, "value", file, line)),  # type: ignore[arg-type]
                low=_num(row, "low", file, line, required=False),
                high=_num(row, "high", file, line, required=False),
                kind=kind,
                label=row.get("label", "").strip(),
                scope=_choice(row, "scope", ("like-for-like", "different-scope"), "like-for-like", file, line),
                role=_choice(row, "role", ("check", "anchor"), "check", file, line),
                quality=row.get("quality", "").strip(),
                source=row.get("source", "").strip(),
                notes=row.get("notes", "").strip(),
            )
        )
    return tuple(out)
