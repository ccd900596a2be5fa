"""Limits on every user-controlled size: refused with exit 2 and the limit named, never MemoryError."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

from dcplan import limits
from dcplan.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
EST = ["estimate", "train", "--model", "llama-3.1-70b", "--hardware", "h100-sxm", "--tokens", "15T", "--gpus", "1024"]
INF = ["estimate", "infer", "--model", "llama-3.1-70b", "--hardware", "h100-sxm", "--gpus", "8", "--input-len", "1000", "--output-len", "100"]


def _run(argv: list[str]) -> tuple[int, str]:
    from dcplan.cli.main import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(argv)
    return rc, err.getvalue()


def _replace(argv: list[str], option: str, value: str) -> list[str]:
    out = list(argv)
    if option in out:
        out[out.index(option) + 1] = value
    else:
        out += [option, value]
    return out


CASES = [
    (_replace(EST, "--gpus", "1e12"), "gpus", limits.ACCELERATORS),
    (_replace(EST, "--tokens", "1e20"), "tokens", limits.TRAINING_TOKENS),
    (_replace(EST, "--seq-len", "1e9"), "seq-len", limits.SEQ_LEN),
    (_replace(EST, "--global-batch", "1e12"), "global-batch", limits.BATCH),
    (_replace(EST, "--tp", "1e9"), "tp", limits.PARALLEL),
    (["estimate", "train", "--params", "1e20", "--hardware", "h100-sxm", "--tokens", "1T", "--gpus", "8"], "params", limits.PARAMS),
    (_replace(EST, "--usd-per-hour", "1e300"), "usd-per-hour", limits.NUMBER),
    (_replace(INF, "--input-len", "1e9"), "input-len", limits.SEQ_LEN),
    (_replace(INF, "--batch", "1e12"), "batch", limits.BATCH),
    (_replace(INF, "--gpus", "1e8"), "gpus", limits.ACCELERATORS),
    (["forecast", "--samples", "1e12"], "samples", limits.SAMPLES),
    (["forecast", "--samples", "5000000"], "samples", limits.MONTE_CARLO_BYTES),
    (["forecast", "--years", "1-100000000"], "years", limits.YEARS),
    (["forecast", "--set", "pue_ai=1e300"], "set pue_ai", limits.NUMBER),
    (["forecast", "sensitivity", "--year", "1e9"], "year", limits.YEARS),
    (["forecast", "backtest", "--vintages", "1,2"], "vintages", limits.YEARS),
    (["report", "--samples", "1e12", "--out", "/nonexistent-dcplan/r", "--format", "md"], "samples", limits.SAMPLES),
    (["profile", "--time-budget", "1e12", "--out", "/nonexistent-dcplan"], "time-budget", limits.SWEEP_BUDGET),
    (["profile", "--nproc", "1e6", "--out", "/nonexistent-dcplan"], "nproc", limits.PROCESSES),
    (["dashboard", "--workers", "1e6"], "workers", limits.PROCESSES),
]


@pytest.mark.parametrize("argv,field,limit", CASES, ids=[f"{c[1]}-{' '.join(c[0][:2])}" for c in CASES])
def test_cli_refuses_with_the_limit_named(argv, field, limit):
    rc, err = _run(argv)
    assert rc == 2, err
    assert err.count("\n") == 1 and err.startswith(f"dcplan: error: {field}: "), err
    assert limit.name in err or (limit is limits.YEARS and "forecast years limit" in err), err


def test_sizes_at_the_limit_still_answer():
    rc, err = _run(_replace(EST, "--gpus", "8192"))
    assert rc == 0, err


@pytest.mark.slow
def test_issue_commands_exit_2_without_memory_error():
    """The two commands of the issue, in a real process: exit 2, one line, no MemoryError."""
    for argv in (["forecast", "--samples", "1e12"], _replace(EST, "--gpus", "1e12")):
        res = subprocess.run([sys.executable, "-m", "dcplan", *argv], capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert res.returncode == 2, res.stderr
        assert "MemoryError" not in res.stderr and res.stderr.count("\n") == 1


def test_memory_is_computed_before_allocating():
    years = 24
    most = int(limits.MONTE_CARLO_BYTES.maximum // limits.monte_carlo_bytes(1, years, limits.ARRAYS_PER_SAMPLE_YEAR))
    limits.check_samples(most, years)
    with pytest.raises(InputError, match="Monte Carlo memory"):
        limits.check_samples(most + 1, years)


ONE_JOB = "training:\n  - {name: t, model: llama-3.1-8b, tokens: 1T, deadline_days: 30}\n"


def _workload(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "w.yaml"
    p.write_text("name: limits\nhardware: [h100-sxm]\n" + body)
    return p


@pytest.mark.parametrize("body,field", [
    ("training:\n  - {name: t, model: llama-3.1-70b, tokens: 1e20, deadline_days: 30}\n", "training[0].tokens"),
    ("training:\n  - {name: t, model: llama-3.1-70b, tokens: 1T, accelerators: 1e9}\n", "training[0].accelerators"),
    ("training:\n  - {name: t, model: llama-3.1-70b, tokens: 1T, deadline_days: 30, layout: {tp: 1e9}}\n", "training[0].layout.tp"),
    ("inference:\n  - {name: s, model: llama-3.1-70b, requests_per_s: 1e12, input_len: 100, output_len: 100, peak_to_average: 2}\n",
     "inference[0].requests_per_s"),
    ("inference:\n  - {name: s, model: llama-3.1-70b, requests_per_s: 10, input_len: 1e9, output_len: 100, peak_to_average: 2}\n",
     "inference[0].input_len"),
    ("horizon_years: 1000\n" + ONE_JOB, "horizon_years"),
    ("site: {usd_per_kwh: 1e300}\n" + ONE_JOB, "site.usd_per_kwh"),
])
def test_workload_numbers_have_limits(tmp_path, body, field):
    rc, err = _run(["plan", str(_workload(tmp_path, body))])
    assert rc == 2 and f": {field}: " in err and "limit" in err, err


def test_plan_beyond_the_accelerators_limit_is_refused(tmp_path):
    body = ("inference:\n  - {name: s, model: llama-3.1-405b, requests_per_s: 9e8, input_len: 1000, output_len: 1000, "
            "peak_to_average: 3}\n")
    rc, err = _run(["plan", str(_workload(tmp_path, body))])
    assert rc == 2 and "accelerators limit" in err, err


def test_scenario_years_are_bounded(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("name: far\nextends: base\nhorizon_end_year: 100000\n")
    rc, err = _run(["forecast", "--scenario", str(p), "--samples", "100"])
    assert rc == 2 and "horizon_end_year" in err and "1990-2100" in err, err


def test_every_limit_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, shown, _reason in limits.table_rows():
        assert f"| {name} | {shown} |" in readme, f"README limits table misses {name} ({shown}): python -m dcplan.limits prints it"
