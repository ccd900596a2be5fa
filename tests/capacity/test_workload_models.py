"""A workload's ``model:`` may be the path of a Hugging Face config.json (relative to the workload)."""

import json

from dcplan.io.catalog import model_catalog, model_config

WORKLOAD = """\
name: own-model
horizon_years: 1
inference:
  - name: chat
    model: {model}
    precision: bf16
    tokens_per_day: 100M
    input_len: 500
    output_len: 200
    ttft_p95_s: 1.0
    tpot_p95_s: 0.05
    peak_to_average: 2.0
hardware: [h100-sxm]
"""


def _setup(tmp_path, model_ref):
    cfg, _ = model_config(model_catalog()["llama-3.2-1b"])
    (tmp_path / "models" / "my-llama").mkdir(parents=True)
    (tmp_path / "models" / "my-llama" / "config.json").write_text(json.dumps(cfg))
    w = tmp_path / "w.yaml"
    w.write_text(WORKLOAD.format(model=model_ref))
    return w


def test_plan_reads_a_config_relative_to_the_workload(run_cli, tmp_path):
    w = _setup(tmp_path, "models/my-llama")
    out = run_cli("plan", str(w), "--json", cwd="/")
    assert out.returncode == 0, out.stderr
    assert '"model": "my-llama"' in out.stdout


def test_missing_config_names_the_workload_line(run_cli, tmp_path):
    w = _setup(tmp_path, "models/nothing.json")
    out = run_cli("plan", str(w), "--json")
    assert out.returncode == 2
    line = out.stderr.strip()
    assert len(line.splitlines()) == 1 and f"{w}:5" in line and "file not found" in line
