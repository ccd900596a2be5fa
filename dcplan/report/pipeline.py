"""Gather what a report needs: plan a workload, forecast a scenario, score the model.

The one place the report stage calls the other stages (CLI and dashboard share it); the
assembled :class:`~dcplan.report.document.Report` is built from the :class:`ReportInputs`
it returns, by pure functions in :mod:`dcplan.report.assemble`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from dcplan.errors import InputError

#: Samples of the report's forecast (the CLI default) and of the scenario comparison/backtest.
FORECAST_SAMPLES = 10_000
COMPARISON_SAMPLES = 2_000
#: Base samples N of the report's Sobol indices (N (D + 2) chain runs).
SOBOL_SAMPLES = 256


@dataclass(frozen=True, kw_only=True, eq=False)
class ReportInputs:
    """Result objects of every stage a report shows."""

    plan: Any
    """CapacityPlan."""
    forecast: Any
    """Forecast of the chosen scenario."""
    scenarios: tuple[Any, ...]
    """Forecasts of every shipped scenario (for the comparison)."""
    tornado: Any
    """Tornado of energy in the sensitivity year."""
    backtest: Any
    sobol: Any = None
    """Sobol indices of energy in the sensitivity year, with bootstrap intervals."""
    roadmap: tuple[dict[str, Any], ...] = ()
    """FLOP/s per W and per $ of the scenario's catalog generations (dcplan.forecast.roadmap.generation_table)."""
    validation: dict[str, Any]
    """dcplan.validation.validation_results() (rows and summaries)."""
    calibration: Any | None = None
    """A profile's calibration report when --profile was given."""
    profile_calibration: Any | None = None
    """The ProfileCalibration behind it (measured vs predicted points), when its profile is readable."""
    calibration_defaults: Any = None
    """The shipped efficiency defaults (Calibration) used without a profile."""
    created: str = ""
    seed: int = 0
    sensitivity_year: int = 2030


def default_workload() -> Path:
    from dcplan.io.catalog import data_dir

    return data_dir() / "workloads" / "portfolio.yaml"


def gather(
    *,
    workload: str | None = None,
    workload_text: str | None = None,
    workload_models: Mapping[str, str] | None = None,
    scenario: str = "base",
    profile: str | None = None,
    seed: int = 0,
    samples: int = FORECAST_SAMPLES,
    created: str | None = None,
    measured: bool = True,
    executor: str = "serial",
) -> ReportInputs:
    """Run every stage for a report. ``workload_text`` (the dashboard's editor) wins over ``workload``.

    ``profile`` is a calibration file: its held-out accuracy fills section 2, and when it
    calibrates a catalog accelerator (a GPU profile) the plan uses it for that option; a CPU
    profile is reported but cannot calibrate the plan's accelerators. Without one, options with
    a shipped measured calibration use it (unless ``measured`` is False) and section 2 shows the
    first of them, or the first shipped one when no option has one.

    The inputs are read and checked here; the independent computations (plan, forecasts, Sobol,
    tornado, backtest, validation) then run where ``executor`` says (:func:`dcplan.parallel.executor`:
    ``serial``, ``local`` a process pool, ``processes:N``...). Each is a pure function of its
    arguments, so the result is the same wherever they ran; a pool that cannot start or breaks
    falls back to running them here.
    """
    from dcplan import limits
    from dcplan.capacity.loaders import load_plan_inputs, parse_workload_text, read_cost_defaults, resolve
    from dcplan.forecast.engine import select_years
    from dcplan.forecast.roadmap import generation_table
    from dcplan.io.catalog import default_calibration
    from dcplan.io.market import read_observations
    from dcplan.io.scenario import list_scenarios, load_scenario

    calibration = _calibration_report(profile) if profile else None
    plan_profile = profile if calibration is not None and calibration["calibration"].hardware else None
    if workload_text is not None:  # a browser's text: it names uploaded config.json files, never the server's paths
        from dcplan.io.hf_config import config_spec_from_text

        models = {name: config_spec_from_text(text, f"{name}.json", name=name) for name, text in (workload_models or {}).items()}
        spec, origin = parse_workload_text(workload_text, "workload.yaml")
        inputs = resolve(spec, origin, read_cost_defaults(), profile=plan_profile, measured=measured, models=models,
                         model_files=False)
    else:
        inputs = load_plan_inputs(workload or default_workload(), profile=plan_profile, measured=measured)
    obs = read_observations()
    sc = load_scenario(scenario)
    if samples < 2:
        raise InputError("samples", f"must be at least 2, got {samples}")
    years = select_years(sc, None)  # the forecast's years (run_forecast's default)
    limits.check_samples(samples, len(sc.years))  # before any work, as run_forecast checks it
    year = 2030 if 2030 in years else years[len(years) // 2]
    names = list_scenarios()
    parts: list[tuple[str, tuple]] = [  # the plan first (its errors are the user's), then the longest
        ("plan", (inputs, calibration, measured)),
        ("sobol", (sc, year, seed)),
        ("validation", ()),
        ("forecast", (sc, samples, seed, obs)),
        ("backtest", (sc, obs, seed)),
        *(("comparison", (name, seed, obs)) for name in names),
        ("tornado", (sc, year)),
    ]
    plan_etc, sobol, validation, fc, backtest, *others, tornado = run_parts(parts, executor)
    plan, calibration, profile_calibration = plan_etc
    return ReportInputs(
        plan=plan,
        forecast=fc,
        scenarios=tuple(others),
        tornado=tornado,
        sobol=sobol,
        roadmap=tuple(generation_table(sc.generations, sc.h100e_peak_flops_per_s)),
        backtest=backtest,
        validation=validation,
        calibration=calibration,
        profile_calibration=profile_calibration,
        calibration_defaults=default_calibration(),
        created=created or _inputs_date(),
        seed=seed,
        sensitivity_year=year,
    )


def run_parts(parts: Sequence[tuple[str, tuple]], executor: str = "serial") -> list[Any]:
    """The result of each ``(name, args)`` part (:data:`PARTS`), in order, computed where ``executor`` says.

    ``local`` is a process pool of one worker per CPU, at most one per part. A pool that cannot
    start here (no process support, a daemon process) or whose worker dies computes the parts in
    this process instead; an error a part raises (an InputError among them) is raised here, as
    if it had run here.
    """
    from concurrent.futures import BrokenExecutor

    from dcplan.parallel import cpus
    from dcplan.parallel import executor as engine

    spec = (executor or "serial").strip()
    if spec == "local":
        spec = f"processes:{min(cpus(), len(parts))}"
    if spec != "serial":
        _preload()  # a forked worker starts with these loaded, once
        try:  # a process pool's workers end with this command, even when it is killed (dcplan.parallel)
            with engine(spec) as pool:
                return pool.map(run_part, parts)
        except (BrokenExecutor, OSError, NotImplementedError, AssertionError, ImportError):
            pass  # no pool here: compute them in this process (a part's own error is raised again there)
    return [run_part(part) for part in parts]


def run_part(part: tuple[str, tuple]) -> Any:
    """One part of the gather: its function of :data:`PARTS` on its arguments."""
    name, args = part
    return PARTS[name](*args)


def _preload() -> None:
    """Import what the parts use before a pool forks its workers (each would import them again)."""
    import scipy.stats  # noqa: F401

    import dcplan.calibrate.at_scale  # noqa: F401
    import dcplan.capacity.plan  # noqa: F401
    import dcplan.forecast.backtest  # noqa: F401
    import dcplan.forecast.engine  # noqa: F401
    import dcplan.forecast.sensitivity  # noqa: F401
    import dcplan.validation  # noqa: F401


def _sobol(sc: Any, year: int, seed: int) -> Any:
    """Sobol indices of energy in ``year``, with their bootstrap intervals (seeded with ``seed``: the same wherever they ran)."""
    from dcplan.forecast.sensitivity import sobol

    return sobol(sc, metric="energy_twh", year=year, base_samples=SOBOL_SAMPLES, seed=seed)


def _validation() -> dict[str, Any]:
    from dcplan.validation import validation_results

    return validation_results()


def _forecast(sc: Any, samples: int, seed: int, obs: Any) -> Any:
    from dcplan.forecast.engine import run_forecast

    return run_forecast(sc, samples=samples, seed=seed, observations=obs)


def _comparison(name: str, seed: int, obs: Any) -> Any:
    from dcplan.forecast.engine import run_forecast
    from dcplan.io.scenario import load_scenario

    return run_forecast(load_scenario(name), samples=COMPARISON_SAMPLES, seed=seed, observations=obs)


def _plan(inputs: Any, calibration: Any, measured: bool) -> tuple[Any, Any, Any]:
    """The plan, the calibration section 2 shows and its measured-vs-predicted record."""
    from dcplan.capacity.plan import plan_capacity

    plan = plan_capacity(inputs)
    if calibration is None and measured:
        calibration = _measured_report([o.hardware for o in plan.options])
    return plan, calibration, _profile_calibration(calibration)


def _backtest(sc: Any, obs: Any, seed: int) -> Any:
    from dcplan.forecast.backtest import run_backtest

    return run_backtest(sc, obs, samples=COMPARISON_SAMPLES, seed=seed)


def _tornado(sc: Any, year: int) -> Any:
    from dcplan.forecast.sensitivity import tornado

    return tornado(sc, metric="energy_twh", year=year)


#: The independent computations of a report, by name (:func:`run_parts`).
PARTS: dict[str, Callable[..., Any]] = {
    "sobol": _sobol, "validation": _validation, "forecast": _forecast, "comparison": _comparison, "plan": _plan,
    "backtest": _backtest, "tornado": _tornado,
}


def _calibration_report(profile: str) -> Any:
    """The held-out accuracy of a calibrated profile (dcplan calibrate), for section 2."""
    from dcplan.io.calibration import read_calibration_document

    return read_calibration_document(profile)


def _measured_report(option_names: list[str]) -> dict[str, Any] | None:
    """The shipped measured calibration of the first plan option that has one (else the first shipped), for section 2."""
    from dcplan.io.measured import measured_calibrations

    shipped = measured_calibrations()
    for name in [*option_names, *shipped]:
        if name in shipped:
            return {**shipped[name].document, "path": str(shipped[name].path)}
    return None


def _profile_calibration(doc: dict[str, Any] | None) -> Any | None:
    """The calibration file's record with its profile, for the measured-vs-predicted chart (never refitted)."""
    if doc is None:
        return None
    from dcplan.calibrate.stored import from_document
    from dcplan.io.calibration import profile_of
    from dcplan.io.profile import read_profile

    path = profile_of(doc)
    return from_document(doc, read_profile(path), str(path)) if path is not None else None


def _inputs_date() -> str:
    """Today's date: the report is stamped with the day its inputs were gathered (read here, at the edge)."""
    import datetime

    return datetime.date.today().isoformat()
