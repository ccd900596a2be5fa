"""Read the published runs and benchmarks the model is scored against (data/validation/)."""

from __future__ import annotations

import csv
from pathlib import Path

from dcplan.calibrate.at_scale import BenchRow, RunRow
from dcplan.errors import InputError
from dcplan.io.catalog import data_dir, normalise
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


#: TensorRT-LLM reports precisions in capitals.
_PRECISION = {"FP8": "fp8", "FP4": "fp4", "BF16": "bf16", "FP16": "fp16"}


def read_inference_benchmarks(path: str | Path | None = None) -> list[BenchRow]:
    """Rows of inference_benchmarks_calibration.csv that carry an absolute throughput."""
    p = Path(path) if path else data_dir() / "validation" / "inference_benchmarks_calibration.csv"
    out: list[BenchRow] = []
    with open(p, newline="", encoding="utf-8") as fh:
        for i, rec in enumerate(csv.DictReader(fh), start=2):
            if not rec["throughput_tok_s_total"]:
                continue
            try:
                out.append(
                    BenchRow(
                        id=f"{normalise(rec['model'])}/{normalise(rec['hardware'])}/{rec['input_len']}-{rec['output_len']}",
                        model=rec["model"],
                        hardware=rec["hardware"],
                        n_accelerators=int(rec["n_accelerators"]),
                        precision=_PRECISION[rec["precision"]],
                        input_len=int(rec["input_len"]),
                        output_len=int(rec["output_len"]),
                        tokens_per_s=float(rec["throughput_tok_s_total"]),
                        source=rec["source"],
                        quality=rec["quality"],
                    )
                )
            except (KeyError, ValueError) as exc:
                raise InputError("", f"unreadable benchmark row: {exc}", file=str(p), line=i) from None
    return out
