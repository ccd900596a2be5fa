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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

README = ROOT / "README.md"
SHIPPED_CALIBRATION = ROOT / "profiles" / "cpu-amd-epyc-1t-standard.calibration.json"
#: Accuracy targets of a calibrated profile: median and p90 absolute error [%] (None: no target).
CALIBRATION_TARGETS = {"train": (8.0, 20.0), "prefill": (8.0, 20.0), "decode": (8.0, 20.0), "memory": (10.0, None)}
_KIND_WORDS = {"train": "train step time", "prefill": "prefill time", "decode": "decode step time",
               "seq2seq": "encoder-decoder (never fitted)", "memory": "peak memory"}
_VALIDATION_WORDS = {"training_flops_per_s": "training TFLOP/s per accelerator", "training_accelerator_hours": "training accelerator-hours",
                     "inference_tokens_per_s": "serving tokens/s (TensorRT-LLM, FP8/FP4)"}


def _pct(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "-"
    return (f"{v:+.1f} %" if signed else f"{v:.1f} %").replace("-", "−")


def validation_table() -> str:
    from dcplan.validation import validation_results

    s = validation_results()["summary"]
    rows = ["| metric | n | median error | p90 error | bias |", "|---|---|---|---|---|"]
    for key, words in _VALIDATION_WORDS.items():
        if key in s:
            v = s[key]
            rows.append(f"| {words} | {v['n']} | {_pct(v['median_ape_pct'])} | {_pct(v['p90_ape_pct'])} | {_pct(v['bias_pct'], True)} |")
    return "\n".join(rows)


def validation_misses(top: int = 6) -> str:
    """The rows the model misses most, with their published and predicted values."""
    from dcplan.validation import to_json, validation_results

    v = to_json(validation_results())
    rows = []
    for r in v["training"]:
        for what, pub, pred, scale, unit in (("TFLOP/s per accelerator", "published_flops_per_s", "predicted_flops_per_s", 1e12, ""),
                                             ("accelerator-hours", "published_accelerator_hours", "predicted_accelerator_hours", 1e6, "M")):
            if r.get(pub) and r.get(pred):
                rows.append((r[pred] / r[pub] - 1, r["id"], what, f"{r[pub] / scale:,.3g}{unit}", f"{r[pred] / scale:,.3g}{unit}"))
    for r in v["inference"]:
        if r.get("published_tokens_per_s") and r.get("predicted_tokens_per_s"):
            rows.append((r["predicted_tokens_per_s"] / r["published_tokens_per_s"] - 1, r["id"], "output tokens/s",
                         f"{r['published_tokens_per_s']:,.0f}", f"{r['predicted_tokens_per_s']:,.0f}"))
    rows.sort(key=lambda t: -abs(t[0]))
    out = ["| row | quantity | published | predicted | error |", "|---|---|---|---|---|"]
    out += [f"| {rid} | {what} | {pub} | {pred} | {_pct(100 * err, True)} |" for err, rid, what, pub, pred in rows[:top]]
    unpredicted = [r["id"] for r in v["training"] if r.get("error")]
    if unpredicted:
        out.append("")
        out.append(f"Not predicted (the reason is in `dcplan validate`): {', '.join(unpredicted)}.")
    return "\n".join(out)


def calibration_table() -> str:
    from dcplan.io.calibration import read_calibration_document

    doc = read_calibration_document(SHIPPED_CALIBRATION)
    rows = ["| kind | n | median error | p90 error | bias | target (median / p90) |", "|---|---|---|---|---|---|"]
    for kind, h in doc["heldout"].items():
        if not isinstance(h, dict) or "median_ape_pct" not in h:
            continue
        rows.append(f"| {_KIND_WORDS.get(kind, kind)} | {h['n']} | {_pct(h['median_ape_pct'])} | {_pct(h['p90_ape_pct'])} | "
                    f"{_pct(h['bias_pct'], True)} | {_verdict(kind, h)} |")
    return "\n".join(rows)


def _verdict(kind: str, h: dict) -> str:
    target = CALIBRATION_TARGETS.get(kind)
    if target is None:
        return "-"
    med, p90 = target
    misses = [(h["median_ape_pct"] - med) if h["median_ape_pct"] > med else None,
              (h["p90_ape_pct"] - p90) if p90 is not None and h["p90_ape_pct"] > p90 else None]
    label = f"{med:g} %" + (f" / {p90:g} %" if p90 is not None else "")
    if all(m is None for m in misses):
        return f"{label}: met"
    return f"{label}: missed by " + " / ".join("-" if m is None else f"{m:.1f}" for m in misses[: 2 if p90 is not None else 1]) + " points"


def at_scale_fit() -> str:
    from dcplan.io.catalog import default_calibration

    cal = default_calibration()
    return (f"the train-step efficiency relative to the GEMM ceiling ({cal.train.eta_max:.3f}) and the achieved HBM bandwidth "
            f"fraction in decode ({cal.decode_bw_frac:.3f}).")


def energy_defaults() -> str:
    from dcplan.io.catalog import default_calibration
    from dcplan.io.site import default_site

    site, cal = default_site(), default_calibration()
    return (f"server power per accelerator (catalog node power, else TDP × {site.server_power_ratio:g}, Epoch AI) × load factor "
            f"({cal.train_load_frac:g} in training, Epoch AI) × PUE ({site.pue:g}, Epoch AI) × grid intensity "
            f"({site.grid_gco2_per_kwh:g} g/kWh, CodeCarbon); electricity at ${site.usd_per_kwh:g}/kWh (US EIA industrial, 2023); "
            "every value from `data/costs/defaults.yaml` and `data/efficiency/defaults.yaml`, with its source.")


BLOCKS = {
    "validation": validation_table,
    "validation-misses": validation_misses,
    "calibration": calibration_table,
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
