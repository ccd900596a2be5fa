"""Gather what a report needs: plan a workload, forecast a scenario, score the model.

The one place the report stage calls the other stages (CLI and dashboard share it); the
assembled :class:`~dcplan.report.document.Report` is built from the :class:`ReportInputs`
it returns, by pure functions in :mod:`dcplan.report.assemble`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

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
) -> ReportInputs:
    """Run every stage for a report. ``workload_text`` (the dashboard's editor) wins over ``workload``.

    ``profile`` is a calibration file: its held-out accuracy fills section 2, and when it
    calibrates a catalog accelerator (a GPU profile) the plan uses it for that option; a CPU
    profile is reported but cannot calibrate the plan's accelerators. Without one, options with
    a shipped measured calibration use it (unless ``measured`` is False) and section 2 shows the
    first of them, or the first shipped one when no option has one.
    """
    from dcplan.capacity.loaders import load_plan_inputs, parse_workload_text, read_cost_defaults, resolve
    from dcplan.capacity.plan import plan_capacity
    from dcplan.forecast.backtest import run_backtest
    from dcplan.forecast.engine import run_forecast
    from dcplan.forecast.roadmap import generation_table
    from dcplan.forecast.sensitivity import sobol, tornado
    from dcplan.io.catalog import default_calibration
    from dcplan.io.market import read_observations
    from dcplan.io.scenario import list_scenarios, load_scenario
    from dcplan.validation import validation_results

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
    plan = plan_capacity(inputs)
    if calibration is None and measured:
        calibration = _measured_report([o.hardware for o in plan.options])
    obs = read_observations()
    sc = load_scenario(scenario)
    fc = run_forecast(sc, samples=samples, seed=seed, observations=obs)
    others = tuple(run_forecast(load_scenario(name), samples=COMPARISON_SAMPLES, seed=seed, observations=obs) for name in list_scenarios())
    year = 2030 if 2030 in fc.years else fc.years[len(fc.years) // 2]
    return ReportInputs(
        plan=plan,
        forecast=fc,
        scenarios=others,
        tornado=tornado(sc, metric="energy_twh", year=year),
        sobol=sobol(sc, metric="energy_twh", year=year, base_samples=SOBOL_SAMPLES, seed=seed),
        roadmap=tuple(generation_table(sc.generations, sc.h100e_peak_flops_per_s)),
        backtest=run_backtest(sc, obs, samples=COMPARISON_SAMPLES, seed=seed),
        validation=validation_results(),
        calibration=calibration,
        profile_calibration=_profile_calibration(calibration),
        calibration_defaults=default_calibration(),
        created=created or _inputs_date(),
        seed=seed,
        sensitivity_year=year,
    )


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
