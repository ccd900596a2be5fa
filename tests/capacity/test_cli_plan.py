"""``dcplan plan``: JSON, tables, --out files (atomic, never overwritten), --template, bad input."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAT = "data/workloads/chat-70b.yaml"


def one_line_exit_2(r) -> str:
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stdout == ""
    return lines[0]


def test_json_plan_with_hardware_override(run_cli):
    r = run_cli("plan", CHAT, "--hardware", "h200, h100", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert [o["hardware"] for o in d["options"]] == ["h200", "h100-sxm"]
    assert {"options", "timeline", "ranking", "assumptions"} <= set(d)
    assert d["ranking"][0]["hardware"] in ("h200", "h100-sxm")


def test_tables_for_people(run_cli):
    r = run_cli("plan", "data/workloads/portfolio.yaml")
    assert r.returncode == 0, r.stderr
    for title in ("capacity at the end of 3 year(s)", "Cost", "Training jobs", "Services at the design peak",
                  "Rent versus own", "Ranking", "Timeline on", "Assumptions", "Cushman"):
        assert title in r.stdout, title


def test_template_is_a_workload_that_plans(run_cli, tmp_path):
    r = run_cli("plan", "--template")
    assert r.returncode == 0 and "peak_to_average" in r.stdout and "Cushman & Wakefield" in r.stdout
    path = tmp_path / "w.yaml"
    path.write_text(r.stdout)
    r = run_cli("plan", str(path), "--json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["options"]) == 2


def test_out_writes_tables_and_never_overwrites(run_cli, tmp_path):
    out = tmp_path / "plan"
    r = run_cli("plan", CHAT, "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    names = {p.name for p in out.iterdir()}
    assert {"options.csv", "timeline.csv", "ranking.csv", "assumptions.csv", "services.csv", "plan.json"} <= names
    assert not any(n.startswith(".") for n in names)  # no temporary files left behind
    assert not any(n.endswith(".parquet") for n in names)  # Parquet only when asked (--parquet)
    header = (out / "options.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "hardware" and "tco_usd_per_year" in header
    assert json.loads((out / "plan.json").read_text()) == json.loads(r.stdout)
    before = (out / "options.csv").read_bytes()
    line = one_line_exit_2(run_cli("plan", CHAT, "--hardware", "h200", "--out", str(out)))
    assert "exists" in line and "--force" in line
    assert (out / "options.csv").read_bytes() == before
    r = run_cli("plan", CHAT, "--hardware", "h200", "--out", str(out), "--force", "--json")
    assert r.returncode == 0 and (out / "options.csv").read_bytes() != before


@pytest.mark.parametrize("text,expect", [
    ("name: x\ninference: [\n", "x.yaml:3: malformed YAML"),
    ("name: x\nhardwre: [h100]\n", "x.yaml:2: hardwre: unknown field (did you mean 'hardware'?)"),
    ("name: x\ninference:\n  - {name: c, model: llama-3.1-70b, tokens_per_day: 0, input_len: 10, output_len: 10, peak_to_average: 1}\nhardware: [h100]\n",
     "inference[0].tokens_per_day: must be > 0"),
    ("name: x\ninference:\n  - {name: c, model: llama-3.1-70b, tokens_per_day: 1B, input_len: 1000, output_len: 100, peak_to_average: 1, tpot_p95_s: 0.0005}\nhardware: [h100]\n",
     "x.yaml:3: inference[0].tpot_p95_s: no hardware option can run this workload (h100-sxm: llama-3.1-70b on"),
])
def test_bad_workload_exit_2_one_line_nothing_written(run_cli, tmp_path, text, expect):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    line = one_line_exit_2(run_cli("plan", str(path), "--out", str(out)))
    assert expect in line, line
    assert not out.exists()


def test_missing_workload_and_file(run_cli):
    assert "workload" in one_line_exit_2(run_cli("plan"))
    assert "file not found" in one_line_exit_2(run_cli("plan", "nope.yaml"))
    assert "hardware" in one_line_exit_2(run_cli("plan", CHAT, "--hardware", "h1000"))


def test_plan_imports_no_heavy_libraries():
    code = (
        "import sys, io, contextlib\n"
        "from dcplan.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main(['plan', '{CHAT}', '--json'])\n"
        "print(rc, [m for m in ('torch', 'dash', 'plotly', 'scipy', 'pandas') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
    assert out == "0 []"


def test_data_flows_one_way():
    """The model and the estimate never import the capacity stage (or anything later)."""
    later = ("dcplan.capacity", "dcplan.forecast", "dcplan.report", "dcplan.figures", "dcplan.cli")
    for path in [ROOT / "dcplan" / "estimate.py", *(ROOT / "dcplan" / "model").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(n.startswith(later) for n in names), (path, names)
    for path in (ROOT / "dcplan" / "capacity").glob("*.py"):
        src = path.read_text()
        assert "import plotly" not in src and "import pandas" not in src and "dcplan.forecast" not in src, path


def test_parquet_with_pyarrow_and_without_is_one_behaviour_for_plan_and_forecast(run_cli, tmp_path):
    """plan --out --parquet and forecast --parquet share one table writer: Parquet when pyarrow is there,
    else exit 2 with the same one-line answer and nothing written."""
    pytest.importorskip("pyarrow")
    out = tmp_path / "plan"
    assert run_cli("plan", CHAT, "--out", str(out), "--parquet").returncode == 0
    import pandas as pd

    assert list(pd.read_parquet(out / "options.parquet").columns) == (out / "options.csv").read_text().splitlines()[0].split(",")
    blocker = tmp_path / "no-pyarrow" / "pyarrow"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('pyarrow blocked for this test')\n")
    env = {"PYTHONPATH": str(blocker.parent)}
    lines = []
    for args, target in ((("plan", CHAT, "--out", str(tmp_path / "p2"), "--parquet"), tmp_path / "p2"),
                         (("forecast", "--samples", "100", "--parquet", str(tmp_path / "f.parquet")), tmp_path / "f.parquet")):
        r = run_cli(*args, env=env)
        lines.append(one_line_exit_2(r))
        assert not target.exists()
    assert all("needs pyarrow" in line for line in lines)
    assert lines[0].split(": ", 2)[-1] == lines[1].split(": ", 2)[-1]
