"""Every size a user controls, its limit and the reason for it: the one place they are set.

A limit is not a statement about the world: it is the largest input dcplan answers, chosen so
that every answer stays meaningful and every computation stays within a laptop's time and
memory. Each is refused with exit status 2 and the limit named (``limits.check``); the README's
"Serving for a team" section lists them (``python -m dcplan.limits`` prints the table).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dcplan.errors import InputError
from dcplan.units import GiB, MiB


@dataclass(frozen=True)
class Limit:
    """One bound on one user-controlled size."""

    name: str
    """Short name shown in errors and in the README table."""
    maximum: float
    unit: str
    reason: str
    minimum: float = 0.0
    """Smallest accepted value (exclusive when ``minimum_exclusive``)."""
    minimum_exclusive: bool = True

    def describe(self) -> str:
        """'the accelerators limit (10,000,000 accelerators)'."""
        return f"the {self.name} limit ({self.shown()})"

    def shown(self) -> str:
        if self.unit == "bytes" and self.maximum % MiB == 0:
            return f"{self.maximum / GiB:g} GiB" if self.maximum >= GiB else f"{self.maximum / MiB:g} MiB"
        return f"{_num(self.maximum)} {self.unit}".rstrip()

    def refuse(self, field: str, value: float | str) -> InputError:
        shown = value if isinstance(value, str) else _num(value)
        return InputError(field, f"{shown} is over {self.describe()}: {self.reason}")


def _num(x: float) -> str:
    if float(x).is_integer() and abs(x) < 1e12:
        return f"{int(x):,}"
    mantissa, _, exp = f"{x:.4g}".partition("e")
    return f"{mantissa}e{int(exp)}" if exp else mantissa


# --- files ------------------------------------------------------------------------------------
YAML_FILE = Limit("YAML file size", 4 * MiB, "bytes",
                  "workloads, scenarios and catalog entries are a few kB; 4 MiB parses in well under a second")
JSON_FILE = Limit("JSON file size", 16 * MiB, "bytes",
                  "the shipped standard profile is 0.2 MB; 16 MiB bounds the memory a file of empty lists can take (about 300 MB)")
YAML_NODES = Limit("YAML nodes", 100_000, "nodes (after expanding aliases)",
                   "stops alias bombs ('billion laughs'): a real workload or scenario has hundreds")
JSON_NODES = Limit("JSON values", 5_000_000, "values",
                   "a full-sweep profile has tens of thousands; bounds the memory a file can take")
NESTING = Limit("nesting depth", 64, "levels",
                "dcplan's documents nest at most about 6 levels; deeper nesting only exhausts the parser's stack")
UPLOAD = Limit("upload size", 2_000_000, "bytes",
               "dashboard uploads (workload, scenario YAML, profiles) are kB to a few MB; one upload must not hold a worker")
REQUEST = Limit("request body", 6_000_000, "bytes",
                "an upload travels base64-encoded (4/3 of its size) inside a JSON callback with the page state")
TEXT_FIELD = Limit("text field", 1_000_000, "characters",
                   "a workload typed in the dashboard's editor; larger files go through the CLI")

# --- the model --------------------------------------------------------------------------------
ACCELERATORS = Limit("accelerators", 10_000_000, "accelerators",
                     "ten million accelerators draw over 10 GW: beyond any single cluster built or announced")
TRAINING_TOKENS = Limit("training tokens", 1e15, "tokens",
                        "about 25x the largest published pre-training corpora (tens of trillions of tokens)")
SEQ_LEN = Limit("sequence length", 2**24, "tokens",
                "above the longest published context window (10M tokens); attention memory grows with its square")
BATCH = Limit("batch", 100_000_000, "sequences",
              "global batches of published runs are thousands of sequences; larger ones only overflow the layout search")
PARALLEL = Limit("parallel degree", ACCELERATORS.maximum, "accelerators",
                 "a tp/pp/dp/ep/cp degree cannot exceed the accelerators limit")
PARAMS = Limit("model parameters", 1e15, "parameters",
               "about 500x the largest published models (trillions of parameters)")
REQUEST_RATE = Limit("request rate", 1e9, "requests/s",
                     "even at one accelerator per 100 requests/s this demand is beyond the accelerators limit")
TOKENS_PER_DAY = Limit("tokens per day", 1e18, "tokens/day",
                       "1e18 tokens a day is 1.2e13 tokens/s: beyond the accelerators limit at any published serving speed")
HORIZON = Limit("planning horizon", 30, "years",
                "a quarter-by-quarter plan of 120 quarters outlives several accelerator generations and most facilities")
FACTOR = Limit("growth or peak factor", 1000, "(ratio)",
               "peak-to-average, yearly growth or runs per year beyond 1000x describe no real service or schedule")
NUMBER = Limit("any other number", 1e15, "(in its unit)",
               "prices, powers and durations beyond 1e15 (USD, W, days) describe nothing real; keeps every product of inputs finite")

# --- the forecast -----------------------------------------------------------------------------
MONTE_CARLO_BYTES = Limit("Monte Carlo memory", 8 * GiB, "bytes",
                          "samples x years x drivers and metrics of float64 must fit a laptop's memory; "
                          "checked before any array is allocated")
ARRAYS_PER_SAMPLE_YEAR = 128
"""float64 values the forecast holds per sample and simulated year at its peak: 120 measured with
demand by application and China's supply split (peak RSS growth 23.1 kB per sample over 24 years
at 160,000 samples; BENCHMARKS.md), rounded up (91 for the chain before them, 60 earlier)."""
SAMPLES = Limit("Monte Carlo samples", 10_000_000, "samples",
                "beyond this the sampling error is far below the spread of the inputs (and the memory limit binds first)")
YEAR_FIRST, YEAR_LAST = 1990, 2100
YEARS = Limit("forecast years", YEAR_LAST - YEAR_FIRST, "years",
              f"years {YEAR_FIRST}-{YEAR_LAST}: history starts in the 2010s and no published outlook reaches past 2100")

# --- the profiler and the server --------------------------------------------------------------
SWEEP_BUDGET = Limit("sweep time budget", 7 * 86_400.0, "s",
                     "a week of measurements: longer sweeps should be split into several profiles (each saved whole)")
PROCESSES = Limit("processes", 1024, "processes",
                  "torchrun processes on one host, threads, or gunicorn workers: beyond it the host only thrashes")
WORKER_TIMEOUT_S = 120
"""gunicorn kills a worker whose request runs longer (a report build takes well under a minute)."""

ALL = (YAML_FILE, JSON_FILE, YAML_NODES, JSON_NODES, NESTING, UPLOAD, REQUEST, TEXT_FIELD, ACCELERATORS,
       TRAINING_TOKENS, SEQ_LEN, BATCH, PARALLEL, PARAMS, REQUEST_RATE, TOKENS_PER_DAY, HORIZON, FACTOR, NUMBER,
       MONTE_CARLO_BYTES, SAMPLES, YEARS, SWEEP_BUDGET, PROCESSES)

#: Field names (CLI options and workload keys) -> their limit; any other number takes NUMBER.
BY_FIELD = {
    "gpus": ACCELERATORS, "accelerators": ACCELERATORS, "min_replicas": ACCELERATORS,
    "tokens": TRAINING_TOKENS, "seq_len": SEQ_LEN, "input_len": SEQ_LEN, "output_len": SEQ_LEN,
    "global_batch": BATCH, "micro_batch": BATCH, "batch": BATCH,
    "tp": PARALLEL, "pp": PARALLEL, "dp": PARALLEL, "ep": PARALLEL, "cp": PARALLEL, "vpp": PARALLEL,
    "params": PARAMS, "active_params": PARAMS, "requests_per_s": REQUEST_RATE, "tokens_per_day": TOKENS_PER_DAY,
    "horizon_years": HORIZON, "peak_to_average": FACTOR, "growth_per_year_frac": FACTOR, "runs_per_year": FACTOR,
    "accelerators_per_node": ACCELERATORS, "accelerators_per_rack": ACCELERATORS,
}


def check(limit: Limit, value: float | int | None, field: str, *, whole: bool = False) -> None:
    """Refuse ``value`` for ``field`` outside ``limit`` (None passes: the field was not given)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(field, f"must be a number, got {value!r}")
    if not math.isfinite(value):
        raise InputError(field, f"must be a finite number, got {value!r}")
    low_bad = value <= limit.minimum if limit.minimum_exclusive else value < limit.minimum
    if low_bad:
        op = ">" if limit.minimum_exclusive else ">="
        raise InputError(field, f"must be {op} {_num(limit.minimum)}, got {_num(value)}")
    if value > limit.maximum:
        raise limit.refuse(field, value)
    if whole and value != int(value):
        raise InputError(field, f"must be a whole number, got {value!r}")


def check_fields(values: dict[str, float | int | None], prefix: str = "") -> None:
    """Check each named value against its limit in :data:`BY_FIELD` (others against NUMBER's maximum)."""
    for name, value in values.items():
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        limit = BY_FIELD.get(name, NUMBER)
        field = f"{prefix}{name}"
        if not math.isfinite(value):
            raise InputError(field, f"must be a finite number, got {value!r}")
        if abs(value) > limit.maximum:
            raise limit.refuse(field, value)


def monte_carlo_bytes(samples: int, years: int, arrays: int) -> float:
    """Bytes of ``arrays`` float64 arrays of shape (samples, years) [bytes]."""
    return 8.0 * samples * max(years, 1) * arrays


def check_samples(samples: int, years: int, arrays: int = ARRAYS_PER_SAMPLE_YEAR, field: str = "samples") -> None:
    """Refuse a sample count whose arrays would not fit :data:`MONTE_CARLO_BYTES` (computed first)."""
    check(SAMPLES, samples, field, whole=True)
    need = monte_carlo_bytes(samples, years, arrays)
    if need > MONTE_CARLO_BYTES.maximum:
        most = int(MONTE_CARLO_BYTES.maximum // monte_carlo_bytes(1, years, arrays))
        raise InputError(field, f"{samples:,} samples over {years} years need about {need / GiB:,.1f} GiB, over "
                                f"{MONTE_CARLO_BYTES.describe()}: at most {most:,} samples here")


def check_year(year: int, field: str) -> None:
    if not (YEAR_FIRST <= year <= YEAR_LAST):
        raise InputError(field, f"year {year} is outside {YEAR_FIRST}-{YEAR_LAST}, the forecast years limit: {YEARS.reason}")


def table_rows() -> list[tuple[str, str, str]]:
    """(limit, value, reason) rows for the README."""
    return [(lim.name, lim.shown(), lim.reason) for lim in ALL]


if __name__ == "__main__":
    for row in table_rows():
        print(" | ".join(row))
