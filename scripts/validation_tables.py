"""The README's training-accuracy tables (Markdown), from what `dcplan validate` computes.

    python scripts/validation_tables.py                 # print them
    python scripts/validation_tables.py --update-readme # rewrite the marked blocks of README.md

A slow test (tests/test_readme_accuracy.py) checks that the README still says what the code
computes.
"""

from __future__ import annotations


def _pct(d: dict, key: str) -> str:
    v = d.get(key)
    return "-" if v is None else f"{v:.1f} %"


def summary_table(summary: dict) -> str:
    names = [("training_leave_one_out", "training, held out, layout searched"),
             ("training_known_layout", "training, held out, published layout"),
             ("training_flops_per_s", "training calibration rows, in sample"),
             ("training_heldout", "training rows never fitted (DeepSeek-V3, whole runs...), published layout"),
             ("training_heldout_searched", "training rows never fitted, layout searched"),
             ("training_accelerator_hours", "training accelerator-hours (rows with published hours)"),
             ("training_whole_run_hours", "whole-run accelerator-hours (restarts, long-context stages included)")]
    lines = ["| metric | n | median error | p90 error | max error | bias |", "|---|---|---|---|---|---|"]
    for key, label in names:
        s = summary.get(key, {})
        lines.append(f"| {label} (`{key}`) | {s.get('n', 0)} | {_pct(s, 'median_ape_pct')} | {_pct(s, 'p90_ape_pct')} | "
                     f"{_pct(s, 'max_ape_pct')} | {_pct(s, 'bias_pct')} |")
    return "\n".join(lines)


def rows_table(res: dict) -> str:
    loo = res["leave_one_out"]
    known = {p.row.id: p for p in loo["known_layout"]}
    searched = {p.row.id: p for p in loo["searched"]}
    searched.update({p.row.id: p for p in res.get("heldout_searched", [])})
    lines = ["| run | role | accelerators | published | ratio, shipped | ratio, held out (published layout) | ratio, held out (layout searched) |",
             "|---|---|---|---|---|---|---|"]

    def r(p) -> str:
        return "-" if p is None or p.ratio is None else f"{p.ratio:.2f}"

    for p in res["training"]:
        pub = p.row.published
        what = (f"{pub.tokens_per_s:,.0f} tokens/s" if pub.tokens_per_s else
                f"{pub.flops_per_s / 1e12:.0f} TFLOP/s ({pub.counting})" if pub.flops_per_s else
                f"{pub.accelerator_hours:,.0f} h ({pub.counts.replace('_', ' ')})")
        shipped = r(p) if not p.error else f"not predicted: {p.error.split(':')[0]}"
        lines.append(f"| {p.row.id} | {p.row.role} | {p.row.n_accelerators} x {p.row.hardware} | {what} | {shipped} | "
                     f"{r(known.get(p.row.id))} | {r(searched.get(p.row.id))} |")
    return "\n".join(lines)


MARKERS = {"summary": ("<!-- validation-summary:start -->", "<!-- validation-summary:end -->"),
           "rows": ("<!-- validation-rows:start -->", "<!-- validation-rows:end -->")}


def blocks() -> dict[str, str]:
    from dcplan.validation import validation_results

    res = validation_results(leave_one_out=True)
    return {"summary": summary_table(res["summary"]), "rows": rows_table(res)}


def replace_blocks(text: str, new: dict[str, str]) -> str:
    for key, (start, end) in MARKERS.items():
        a, b = text.index(start) + len(start), text.index(end)
        text = text[:a] + "\n" + new[key] + "\n" + text[b:]
    return text


def readme_blocks(text: str) -> dict[str, str]:
    out = {}
    for key, (start, end) in MARKERS.items():
        out[key] = text[text.index(start) + len(start):text.index(end)].strip()
    return out


def main() -> None:
    import sys
    from pathlib import Path

    new = blocks()
    if "--update-readme" in sys.argv[1:]:
        readme = Path(__file__).resolve().parents[1] / "README.md"
        readme.write_text(replace_blocks(readme.read_text(encoding="utf-8"), new), encoding="utf-8")
        return
    print(new["summary"])
    print()
    print(new["rows"])


if __name__ == "__main__":
    main()
