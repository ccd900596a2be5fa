"""Read the published runs and benchmarks the model is scored against (data/validation/); write stack fits."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from dcplan.calibrate.at_scale import RunRow
from dcplan.calibrate.serving import Case, ServingDataset, ServingRow, chip_overrides, overrides
from dcplan.io.catalog import data_dir
from dcplan.io.schema import build
from dcplan.io.yamlio import read_yaml


def read_training_runs(path: str | Path | None = None) -> list[RunRow]:
    """The rows of data/validation/training_runs.yaml."""
    p = Path(path) if path else data_dir() / "validation" / "training_runs.yaml"
    doc = read_yaml(p)
    runs = (doc.data or {}).get("runs")
    if not isinstance(runs, list):
        raise doc.error(("runs",), "must be a list of runs")
    return [build(RunRow, r, doc, ("runs", i)) for i, r in enumerate(runs)]


# --------------------------------------------------------------------------------------------
# Serving results (data/validation/serving_benchmarks.yaml) and the stacks fitted on them
# --------------------------------------------------------------------------------------------


def serving_benchmarks_path() -> Path:
    return data_dir() / "validation" / "serving_benchmarks.yaml"


def read_serving_benchmarks(path: str | Path | None = None) -> tuple[list[ServingRow], dict[str, ServingDataset]]:
    """(rows, datasets by name) of the published serving results."""
    p = Path(path) if path else serving_benchmarks_path()
    doc = read_yaml(p)
    data = doc.data or {}
    if not isinstance(data.get("rows"), list):
        raise doc.error(("rows",), "must be a list of serving results")
    datasets = {}
    for i, d in enumerate(data.get("datasets") or []):
        ds = build(ServingDataset, d, doc, ("datasets", i))
        datasets[ds.name] = ds
    rows = [build(ServingRow, r, doc, ("rows", i)) for i, r in enumerate(data["rows"])]
    seen: set[str] = set()
    for i, r in enumerate(rows):
        if r.id in seen:
            raise doc.error(("rows", i, "id"), f"duplicate row id {r.id!r}")
        seen.add(r.id)
        if r.dataset is not None and r.dataset not in datasets:
            raise doc.error(("rows", i, "dataset"), f"unknown dataset {r.dataset!r}; defined: {', '.join(sorted(datasets))}")
    return rows, datasets


def load_serving_cases(path: str | Path | None = None) -> tuple[list[Case], dict[str, ServingDataset]]:
    """Rows with their model, chip, stack and the chip's shipped calibration resolved."""
    from dcplan.io.catalog import default_calibration, get_hardware, get_model, get_stack

    rows, datasets = read_serving_benchmarks(path)
    cases = []
    for r in rows:
        hw = get_hardware(r.hardware)
        cases.append(Case(row=r, model=get_model(r.model), hw=hw, stack=get_stack(r.stack), base=default_calibration(hw.name)))
    return cases, datasets


def _fit_block(calibration: Mapping[str, Any], chips: Mapping[str, Any], fit: Mapping[str, Any]) -> str:
    """The ``calibration:``, ``chips:`` and ``fit:`` blocks of a stack file (YAML text)."""
    import json

    lines = ["calibration:"]
    for key, value in calibration.items():
        if isinstance(value, Mapping):
            lines.append(f"  {key}: {{{', '.join(f'{k}: {json.dumps(v)}' for k, v in value.items())}}}")
        else:
            lines.append(f"  {key}: {json.dumps(value)}")
    if chips:
        lines.append("chips:  # the (chip, stack) terms of the same fit")
        lines += [f"  {chip}: {{{', '.join(f'{k}: {json.dumps(v)}' for k, v in over.items())}}}" for chip, over in chips.items()]
    lines.append("fit:")
    lines += [f"  {key}: {json.dumps(value)}" for key, value in fit.items()]
    return "\n".join(lines) + "\n"


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_stack_fits(res: Mapping[str, Any], cases: Sequence[Case]) -> list[Path]:
    """Store a serving fit: the ``calibration:``/``fit:`` blocks of data/stacks/*.yaml and the
    per-row fitted and held-out ratios in data/validation/serving_fit.yaml."""
    from dcplan.calibrate.serving import summary
    from dcplan.io.catalog import stack_catalog

    command = "python -m dcplan.validation --fit-serving --write"
    written = []
    for name, spec in stack_catalog().items():
        path = data_dir() / "stacks" / f"{name}.yaml"
        head = path.read_text(encoding="utf-8").split("\ncalibration:")[0].rstrip("\n") + "\n"
        fitted_rows = [c for c in cases if c.row.fit]
        own = fitted_rows if name == "pooled" else [c for c in fitted_rows if c.row.stack == name]
        fit = res["stacks"].get(name)
        values = fit.values if fit else res["pooled"]
        calibration = overrides(values)
        # values its file documents (engine settings with a source) stay: those the fit does not
        # touch always, and all of them in a stack with no rows of its own
        own_rows = fit is not None or name == "pooled"
        calibration.update({k: v for k, v in spec.calibration.items()
                            if k in spec.sources and (k not in calibration or not own_rows)})
        chips: dict[str, int] = {}
        for c in own:
            chips[c.hw.name] = chips.get(c.hw.name, 0) + 1
        block: dict[str, Any] = {"command": command, "rows": len(own), "chips": dict(sorted(chips.items()))}
        if name != "pooled" and own:
            block["held_out"] = {"method": fit.held_out,
                                 **{k: round(v, 2) for k, v in summary([res["held_out"][c.row.id] for c in own]).items()}}
            block["prior"] = {k: float(f"{v:.4g}") for k, v in fit.prior.items()}
        _write_text(path, head + _fit_block(calibration, chip_overrides(values), block))
        written.append(path)
    lines = ["# Written by python -m dcplan.validation --fit-serving --write: each serving row's predicted / published",
             "# tokens/s with its stack's fitted parameters (fitted) and refitted without the row (held_out:",
             "# leave-one-out, or the row's fold of a K-fold split in a large stack); null: no batch fits.",
             "# Rows marked fit: false in serving_benchmarks.yaml are not listed (not fitted).",
             "schema_version: 1", "rows:"]
    for c in (c for c in cases if c.row.fit):
        f, lo = res["fitted"].get(c.row.id), res["held_out"].get(c.row.id)
        lines.append(f"  {c.row.id}: {{stack: {c.row.stack}, fitted: {'null' if f is None else round(f, 4)}, "
                     f"held_out: {'null' if lo is None else round(lo, 4)}}}")
    _write_text(serving_fit_path(), "\n".join(lines) + "\n")
    written.append(serving_fit_path())
    return written


def read_disagg_checks(path: str | Path | None = None) -> list:
    """The published wide-EP prefill/decode rates of data/validation/serving_disagg_checks.yaml."""
    from dcplan.calibrate.disagg import DisaggCheck

    p = Path(path) if path else data_dir() / "validation" / "serving_disagg_checks.yaml"
    doc = read_yaml(p)
    checks = (doc.data or {}).get("checks")
    if not isinstance(checks, list):
        raise doc.error(("checks",), "must be a list of checks")
    return [build(DisaggCheck, c, doc, ("checks", i)) for i, c in enumerate(checks)]


def serving_fit_path() -> Path:
    return data_dir() / "validation" / "serving_fit.yaml"


def read_serving_fit(path: str | Path | None = None) -> dict[str, float | None]:
    """Held-out ratios (predicted / published) by row id, as the serving fit stored them."""
    p = Path(path) if path else serving_fit_path()
    doc = read_yaml(p)
    rows = (doc.data or {}).get("rows")
    if not isinstance(rows, dict):
        raise doc.error(("rows",), "must map row ids to their fitted and held-out ratios")
    return {str(k): (v or {}).get("held_out") for k, v in rows.items()}
