"""Mutation check: break one term of the model at a time and see which tests catch it.

usage: python scripts/mutation_check.py [NAME ...] [--list] [--json OUT]     (make mutation)

Each mutation below replaces one exact piece of source text in a copy of the working tree
(never in the tree itself), runs the named test paths against that copy and reports the tests
that failed. A mutation passes when some test fails, and at least one failing test's name says
which term broke (``names``): a test that only fails by accident does not count as guarding it.
A mutation whose text is no longer in the source says so (exit 3): the model was rewritten,
so update ``old`` (and ``new``) below. Exit 0 when every mutation was caught by a named test,
1 when one survived.

To add a term: append a Mutation with the file, the exact text and its broken version, the
tests to run (paths or node ids, fast ones) and the words a catching test's name contains.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]
    names: tuple[str, ...]
    """Words of which one must appear in a catching test's name (lowercase)."""


MUTATIONS = (
    Mutation(
        name="pipeline bubble set to 0",
        file="dcplan/model/train_time.py",
        old="    bubble = bubble_microbatches(lay.pp, lay.vpp, lay.schedule) * stage_mb",
        new="    bubble = 0.0 * stage_mb",
        tests=("tests/model", "tests/test_estimate.py"),
        names=("bubble", "pipeline", "pp"),
    ),
    Mutation(
        name="all-reduce volume halved (busbw factor (n-1)/n instead of 2(n-1)/n)",
        file="dcplan/model/comm.py",
        old='    "all_reduce": lambda n: 2.0 * (n - 1) / n,',
        new='    "all_reduce": lambda n: (n - 1) / n,',
        tests=("tests/model", "tests/test_estimate.py"),
        names=("all_reduce", "allreduce", "all-reduce", "collective", "comm", "nccl"),
    ),
    Mutation(
        name="tensor-parallel all-reduces dropped",
        file="dcplan/model/train_time.py",
        old='    t = layers * n_coll * collective_time("all_reduce", tokens_mb * m.d_model * 2.0, lay.tp, link)',
        new="    t = 0.0",
        tests=("tests/model", "tests/test_estimate.py"),
        names=("tp", "tensor"),
    ),
    Mutation(
        name="FSDP unsharded units dropped from training memory",
        file="dcplan/model/memory.py",
        old="    weights, grads = weights + gathered_w, grads + gathered_g",
        new="    weights, grads = weights, grads",
        tests=("tests/model/test_memory.py",),
        names=("fsdp",),
    ),
    Mutation(
        name="gradient reduce at the weights' bytes instead of fp32",
        file="dcplan/model/train_time.py",
        old="    g_b = max(sync.grad_bytes, state_bytes_per_param(precision)[1])",
        new="    g_b = state_bytes_per_param(precision)[1]",
        tests=("tests/model/test_train_time.py",),
        names=("dp", "reduce", "grad"),
    ),
    Mutation(
        name="interruptions no longer grow with the job beyond the observed size",
        file="dcplan/model/whole_run.py",
        old="max(1.0, n_accelerators / cal.goodput_ref_accelerators)",
        new="1.0",
        tests=("tests/model/test_whole_run.py",),
        names=("interruptions", "goodput"),
    ),
    Mutation(
        name="forecast stage skipped: PUE (facility power = IT power)",
        file="dcplan/forecast/chain.py",
        old="    ai_fac = ai_it * pue",
        new="    ai_fac = ai_it",
        tests=("tests/forecast",),
        names=("pue", "facility", "energy", "calibration", "iea", "lbnl"),
    ),
    Mutation(
        name="forecast stage skipped: non-AI data centres",
        file="dcplan/forecast/chain.py",
        old="total_twh=ai_twh + nonai)",
        new="total_twh=ai_twh)",
        tests=("tests/forecast",),
        names=("nonai", "non_ai", "energy", "calibration", "iea", "lbnl", "world"),
    ),
    Mutation(
        name="capital recovery without interest (CRF = 1/n)",
        file="dcplan/capacity/tco.py",
        old="        k = np.where(np.abs(r) > 1e-12, r * g / (g - 1.0), 1.0 / n)",
        new="        k = 1.0 / n + 0.0 * r",
        tests=("tests/capacity/test_tco.py", "tests/capacity/test_anchors.py", "tests/forecast/test_equations.py"),
        names=("crf", "capital", "annuity", "tco", "recovery"),
    ),
)


def _copy_tree(dst: Path) -> None:
    """The working tree as git sees it (tracked and untracked-not-ignored files) into ``dst``."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        src = ROOT / rel
        if src.is_file():
            target = dst / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)


def _failures(junit: Path) -> list[str]:
    if not junit.exists():
        return []
    out = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            out.append(f"{case.get('classname', '')}::{case.get('name', '')}")
    return out


def run_one(m: Mutation, timeout_s: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="dcplan-mutation-") as tmp:
        work = Path(tmp) / "tree"
        _copy_tree(work)
        path = work / m.file
        text = path.read_text(encoding="utf-8")
        if text.count(m.old) != 1:
            return {"name": m.name, "status": "stale", "why": f"{m.file}: the text to mutate occurs {text.count(m.old)} times (expected once)"}
        path.write_text(text.replace(m.old, m.new), encoding="utf-8")
        junit = Path(tmp) / "junit.xml"
        env = {**os.environ, "PYTHONPATH": str(work), "PYTHONDONTWRITEBYTECODE": "1"}
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow and not browser and not gpu",
               f"--junitxml={junit}", *m.tests]
        try:
            r = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return {"name": m.name, "status": "timeout", "why": f"tests ran past {timeout_s:.0f} s"}
        failed = _failures(junit)
        if r.returncode not in (0, 1):
            return {"name": m.name, "status": "error", "why": (r.stdout + r.stderr).strip().splitlines()[-1:] or ["pytest failed to run"]}
        named = [t for t in failed if any(w in t.lower() for w in m.names)]
        status = "caught" if named else ("caught, but by no test named for the term" if failed else "SURVIVED")
        return {"name": m.name, "status": status, "failed": failed, "named": named}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="run only mutations whose name contains one of these words")
    p.add_argument("--list", action="store_true", help="list the mutations and exit")
    p.add_argument("--json", help="also write the results as JSON to this file")
    p.add_argument("--timeout", type=float, default=900, help="seconds per mutation (default 900)")
    args = p.parse_args()
    chosen = [m for m in MUTATIONS if not args.names or any(w.lower() in m.name.lower() for w in args.names)]
    if args.list:
        for m in chosen:
            print(f"{m.name}: {m.file}; tests {' '.join(m.tests)}")
        return 0
    results = []
    for m in chosen:
        print(f"-- {m.name} ({m.file})", flush=True)
        res = run_one(m, args.timeout)
        results.append(res)
        print(f"   {res['status']}" + (f": {res['why']}" if "why" in res else ""), flush=True)
        for t in res.get("failed", [])[:12]:
            print(f"   {'*' if t in res.get('named', []) else ' '} {t}")
        if len(res.get("failed", [])) > 12:
            print(f"     ... and {len(res['failed']) - 12} more")
    print("\nsummary (* = a failing test named for the term):")
    for res in results:
        print(f"  {res['status']:<42} {res['name']}  [{len(res.get('failed', []))} failed, {len(res.get('named', []))} named]")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    if any(r["status"] in ("stale", "error", "timeout") for r in results):
        return 3
    return 0 if all(r["status"] == "caught" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
