"""The README's figures, written by the code that computes them (so they cannot drift).

usage: python scripts/readme_figures.py --write    rewrite every generated block of README.md
       python scripts/readme_figures.py --check    exit 1 (and show the difference) when README.md is stale

A generated block sits between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``; only its
inside is rewritten. tests/test_readme.py runs --check, so a change to the model, the shipped
calibration or the defaults that moves a README figure fails the tests until --write is run.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

README = ROOT / "README.md"
_KIND_WORDS = {"train": "train step time", "prefill": "prefill time", "decode": "decode step time",
               "seq2seq": "encoder-decoder (train and generate)", "memory": "peak memory"}


@dataclass(frozen=True)
class ShippedCalibration:
    """A shipped calibration whose held-out errors the README shows, with its targets and, as
    history that does not move, what the code gave before the issue that changed it."""

    file: str
    targets: dict
    """kind -> (median, p90) target [%]; p90 None when there is none."""
    before: dict
    """kind -> the text of the 'before issue 13' column."""


CALIBRATIONS = {
    "calibration-h200": ShippedCalibration(
        file="profiles/gpu-nvidia-h200-standard.calibration.json",
        targets={"train": (5.0, 20.0), "prefill": (5.0, 20.0), "decode": (8.0, 20.0), "seq2seq": (10.0, 20.0), "memory": (10.0, 20.0)},
        before={"train": "4.1 / 28.2 %", "prefill": "5.9 / 22.8 %", "decode": "29.8 / 41.1 %", "seq2seq": "27.3 / 56.7 % (not fitted)",
                "memory": "7.7 / 36.3 %"}),
    "calibration-cpu": ShippedCalibration(
        file="profiles/cpu-amd-epyc-1t-standard.calibration.json",
        targets={"train": (8.0, 20.0), "prefill": (8.0, 20.0), "decode": (8.0, 20.0), "memory": (10.0, None)},
        before={"train": "10.3 / 20.4 %", "prefill": "3.9 / 12.9 %", "decode": "12.1 / 23.9 %", "seq2seq": "13.5 / 21.9 % (not fitted)",
                "memory": "9.7 / 34.0 %"}),
}


def _pct(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "-"
    return (f"{v:+.1f} %" if signed else f"{v:.1f} %").replace("-", "−")


#: Serving error before serving stacks (main at cd3336b: one shared calibration, mean request
#: lengths), on the same rows: docs/benchmarks-serving.md has the script. Not recomputed: that
#: model is gone.
SERVING_BEFORE = {
    "tensorrt-llm": "23.5 % / 70.1 % / +10.7 %",
    "vllm-rocm": "64.1 % / 131 % / +69.5 %",
    "vllm-cuda": "44.5 % / 85.4 % / +13.3 %",
    "tgi-gaudi": "both rows failed (no Gaudi 2 FP8 peak)",
    "moe": "23.4 % / 43.0 % / −0.7 %",
    "all": "25.1 % / 91.3 % / +15.5 % (2 failed)",
}
_STACK_WORDS = {"tensorrt-llm": "TensorRT-LLM", "vllm-rocm": "vLLM ROCm", "vllm-cuda": "vLLM CUDA", "tgi-gaudi": "TGI on Gaudi 2",
                "sglang-cuda": "SGLang"}
#: Issue 18's targets: a stack with >= 3 rows <= 15 % held-out median; MoE rows <= 25 %.
SERVING_TARGET_PCT, MOE_TARGET_PCT, MIN_ROWS_FOR_TARGET = 15.0, 25.0, 3


def _triple(v: dict) -> str:
    return f"{_pct(v['median_ape_pct'])} / {_pct(v['p90_ape_pct'])} / {_pct(v['bias_pct'], True)}"


def _target(v: dict, target: float) -> str:
    if v["n"] < MIN_ROWS_FOR_TARGET:
        return f"- (fewer than {MIN_ROWS_FOR_TARGET} rows)"
    miss = v["median_ape_pct"] - target
    return f"≤ {target:g} %: met" if miss <= 0 else f"≤ {target:g} %: **missed by {miss:.1f} points**"


def serving() -> str:
    """The serving accuracy table: each stack's held-out error against issue 18's targets."""
    from dcplan.calibrate.serving import summary
    from dcplan.validation import validation_results

    res = validation_results(leave_one_out=False)
    sm = res["summary"]
    rows = ["| stack | rows | before: median / p90 / bias | held out: median / p90 / bias | target |", "|---|---|---|---|---|"]
    for name, v in sm["inference_by_stack"].items():
        method = "" if v["held_out"] == "leave-one-out" else f" ({v['held_out']})"
        rows.append(f"| {_STACK_WORDS.get(name, name)}{method} | {v['n']} | {SERVING_BEFORE.get(name, '-')} | {_triple(v)} | "
                    f"{_target(v, SERVING_TARGET_PCT)} |")
    moe = sm["inference_moe_held_out"]
    rows.append(f"| MoE rows (Mixtral, DeepSeek-R1) | {moe['n']} | {SERVING_BEFORE['moe']} | {_triple(moe)} | {_target(moe, MOE_TARGET_PCT)} |")
    everything = summary(list(res["inference_held_out"].values()))
    rows.append(f"| all fitted rows | {everything['n']} | {SERVING_BEFORE['all']} | {_triple(everything)} | - |")
    return "\n".join(rows)


def calibration_table(name: str) -> str:
    from dcplan.io.calibration import read_calibration_document

    cal = CALIBRATIONS[name]
    doc = read_calibration_document(ROOT / cal.file)
    rows = ["| kind | n | median error | p90 error | target (median / p90) | before issue 13 |", "|---|---|---|---|---|---|"]
    for kind, h in doc["heldout"].items():
        if not isinstance(h, dict) or "median_ape_pct" not in h:
            continue
        rows.append(f"| {_KIND_WORDS.get(kind, kind)} | {h['n']} | {_pct(h['median_ape_pct'])} | {_pct(h['p90_ape_pct'])} | "
                    f"{_verdict(cal.targets.get(kind), h)} | {cal.before.get(kind, '-')} |")
    return "\n".join(rows)


def _verdict(target, h: dict) -> str:
    if target is None:
        return "-"
    med, p90 = target
    label = f"{med:g}" + (f" / {p90:g} %" if p90 is not None else " %")
    misses = []
    if h["median_ape_pct"] > med:
        misses.append(f"median missed by {h['median_ape_pct'] - med:.1f} points")
    if p90 is not None and h["p90_ape_pct"] > p90:
        misses.append(f"p90 missed by {h['p90_ape_pct'] - p90:.1f} points")
    return f"{label}: " + ("; ".join(misses) if misses else "met")


def at_scale_fit() -> str:
    from dcplan.io.catalog import default_calibration

    cal = default_calibration()
    return (f"the BF16 train-step efficiency relative to the GEMM ceiling ({cal.train.eta_max:.3f}), the FP8 one relative to the FP8 "
            f"peak ({cal.train_fp8_eta_max:.3f}), the passes over the activation bytes by memory-bound kernels "
            f"({cal.train.act_passes:.1f}); the achieved HBM bandwidth fraction in decode ({cal.decode_bw_frac:.3f}) remains for "
            "estimates without a serving stack.")


def energy_defaults() -> str:
    from dcplan.io.catalog import default_calibration
    from dcplan.io.site import default_site

    site, cal = default_site(), default_calibration()
    return (f"server power per accelerator (catalog node power, else TDP × {site.server_power_ratio:g}, Epoch AI) × load factor "
            f"({cal.train_load_frac:g} in training, Epoch AI) × PUE ({site.pue:g}, Epoch AI) × grid intensity "
            f"({site.grid_gco2_per_kwh:g} g/kWh, CodeCarbon); electricity at ${site.usd_per_kwh:g}/kWh (US EIA industrial, 2023); "
            "every value from `data/costs/defaults.yaml` and `data/efficiency/defaults.yaml`, with its source.")


BLOCKS = {
    "serving": serving,
    "calibration-h200": lambda: calibration_table("calibration-h200"),
    "calibration-cpu": lambda: calibration_table("calibration-cpu"),
    "at-scale-fit": at_scale_fit,
    "energy-defaults": energy_defaults,
}
_BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->)(?P<body>.*?)(<!-- end: (?P=name) -->)", re.S)


def render(text: str) -> str:
    """``text`` with every generated block rewritten; an unknown block name is an error."""
    seen = set()

    def fill(m: re.Match) -> str:
        name = m.group("name")
        if name not in BLOCKS:
            raise SystemExit(f"README.md: unknown generated block {name!r} (known: {', '.join(BLOCKS)})")
        seen.add(name)
        body = BLOCKS[name]()
        inline = "\n" not in m.group("body")
        return f"{m.group(1)}{body}{m.group(4)}" if inline else f"{m.group(1)}\n{body}\n{m.group(4)}"

    out = _BLOCK.sub(fill, text)
    missing = set(BLOCKS) - seen
    if missing:
        raise SystemExit(f"README.md has no block for {', '.join(sorted(missing))}")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--write", action="store_true")
    g.add_argument("--check", action="store_true")
    args = p.parse_args()
    text = README.read_text(encoding="utf-8")
    new = render(text)
    if args.write:
        if new != text:
            README.write_text(new, encoding="utf-8")
        print("README.md up to date" if new == text else "README.md rewritten")
        return 0
    if new != text:
        sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), new.splitlines(True), "README.md", "README.md (generated)"))
        print("\nREADME.md figures are stale: run python scripts/readme_figures.py --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
