"""The dcplan command: exit statuses, one-line errors, JSON, and what estimate imports."""

import json
import subprocess
import sys

import pytest


def test_estimate_train_json(run_cli):
    r = run_cli("estimate", "train", "--model", "llama-2-7b", "--tokens", "2T", "--hardware", "a100-80gb", "--gpus", "256", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["tokens"] == 2e12 and d["n_accelerators"] == 256
    assert d["parallelism"]["tp"] * d["parallelism"]["pp"] * d["parallelism"]["dp"] * d["parallelism"]["cp"] == 256


def test_estimate_train_table_names_step_parts_in_words(run_cli):
    r = run_cli("estimate", "train", "--model", "mixtral-8x7b", "--tokens", "1T", "--hardware", "h100", "--gpus", "64")
    assert r.returncode == 0, r.stderr
    assert "matrix multiplications" in r.stdout and "expert all-to-all, exposed" in r.stdout
    assert "nonmatmul" not in r.stdout and "overlap_tax" not in r.stdout  # code names stay in the JSON only
    assert " ms " in r.stdout or " s " in r.stdout


def test_estimate_infer_table(run_cli):
    r = run_cli("estimate", "infer", "--model", "llama-2-70b", "--hardware", "H100", "--gpus", "8", "--input-len", "1000", "--output-len", "500")
    assert r.returncode == 0, r.stderr
    assert "TPOT" in r.stdout and "TTFT" in r.stdout


def test_params_instead_of_model(run_cli):
    r = run_cli("estimate", "train", "--params", "70B", "--tokens", "1.5T", "--hardware", "h100", "--gpus", "512", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert abs(d["params_total"] / 70e9 - 1) < 0.05


@pytest.mark.parametrize("args,field", [
    (["--tokens", "-5"], "tokens"),
    (["--tokens", "0"], "tokens"),
    (["--tokens", "abc"], "--tokens"),
    (["--tokens", "1T", "--gpus", "0"], "gpus"),
    (["--tokens", "1T", "--hardware", "h1000"], "hardware"),
    (["--tokens", "1T", "--tp", "3"], "tp"),
    (["--tokens", "1T", "--tp", "8", "--pp", "2", "--dp", "1", "--cp", "1"], "gpus"),
])
def test_bad_input_is_one_line_exit_2(run_cli, args, field):
    base = {"--model": "llama-2-70b", "--hardware": "h100", "--gpus": "8", "--tokens": "1T"}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    flat = [x for kv in base.items() for x in kv]
    r = run_cli("estimate", "train", *flat)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert field in lines[0]
    assert r.stdout == ""


@pytest.mark.parametrize("args,field", [
    (["--ep", "3"], "ep"),                                    # does not divide the 8 experts
    (["--ep", "16"], "ep"),                                   # more than the 8 experts
    (["--tp", "1", "--pp", "1", "--cp", "1", "--dp", "64", "--global-batch", "100"], "global_batch"),
    (["--global-batch", "12.5"], "global_batch"),
    (["--global-batch", "4Mtok", "--seq-len", "8192000"], "global_batch"),
    (["--schedule", "dualpipe", "--pp", "1"], "schedule"),
])
def test_bad_moe_and_batch_input_is_one_line_exit_2(run_cli, args, field):
    base = ["estimate", "train", "--model", "mixtral-8x7b", "--hardware", "h100", "--gpus", "64", "--tokens", "1T"]
    r = run_cli(*base, *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0] and "Traceback" not in r.stderr, r.stderr
    assert r.stdout == ""


def test_estimate_train_on_a_system_and_batch_in_tokens(run_cli):
    r = run_cli("estimate", "train", "--model", "llama-2-70b", "--tokens", "2T", "--hardware", "aws-p4d", "--gpus", "512",
                "--global-batch", "4M", "--seq-len", "4096", "--no-tp-comm-overlap", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["hardware"] == "a100-40gb" and d["system"] == "aws-p4d"
    assert d["global_batch_tokens"] == pytest.approx(4e6, rel=0.05) and "tokens" in d["global_batch_source"]
    assert d["overlap"]["tp_comm"] is False and d["overlap"]["grad_reduce"] is True
    assert set(d["step_breakdown_s"]) >= {"compute_s", "nonmatmul_s", "overlap_tax_s", "bubble_s", "ep_comm_s"}


def test_model_that_fits_nowhere_exit_2(run_cli):
    r = run_cli("estimate", "train", "--model", "llama-3.1-405b", "--tokens", "1T", "--hardware", "h100", "--gpus", "8")
    assert r.returncode == 2
    assert "fits no layout" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_unknown_command_exit_2(run_cli):
    r = run_cli("estimat")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_estimate_imports_neither_torch_nor_dash():
    code = (
        "import sys, io, contextlib\n"
        "from dcplan.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    rc = main(['estimate','train','--model','llama-2-7b','--tokens','1T','--hardware','h100','--gpus','64','--json'])\n"
        "bad = [m for m in ('torch','dash','plotly','scipy','pandas') if m in sys.modules]\n"
        "print(rc, bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "0 []"


def test_hardware_and_models_commands(run_cli):
    for args in (["hardware", "list"], ["hardware", "show", "h100"], ["models", "list"], ["models", "show", "llama-2-70b"]):
        r = run_cli(*args)
        assert r.returncode == 0, r.stderr
    r = run_cli("hardware", "list", "--json")
    names = {h["name"] for h in json.loads(r.stdout)}
    assert {"v100", "a100-40gb", "a100-80gb", "h100-sxm", "h100-pcie", "h800", "h200", "b200", "gb200", "l40s", "rtx-4090",
            "mi250x", "mi300x", "mi325x", "gaudi2", "gaudi3", "tpu-v3", "tpu-v4", "tpu-v5e", "tpu-v5p", "tpu-v6e"} <= names


def test_missing_data_folder_is_one_line_exit_2(tmp_path, run_cli):
    r = run_cli("hardware", "list", env={"DCPLAN_DATA": str(tmp_path / "nowhere")})
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1


def test_unexpected_error_is_one_line_exit_1_and_debug_shows_it(monkeypatch, capsys):
    from dcplan.cli import catalog_cmd
    from dcplan.cli.main import main

    def broken(args):
        raise RuntimeError("boom")

    monkeypatch.setattr(catalog_cmd, "hardware_list", broken)
    assert main(["hardware", "list"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["dcplan: internal error: RuntimeError: boom (run with --debug for the traceback)"]
    with pytest.raises(RuntimeError):
        main(["--debug", "hardware", "list"])


def test_estimate_train_long_context_stage(run_cli):
    base = ["estimate", "train", "--model", "llama-3.1-8b", "--tokens", "15T", "--hardware", "h100", "--gpus", "512",
            "--seq-len", "8192"]
    r = run_cli(*base, "--long-context-tokens", "800B", "--long-context-seq-len", "131072", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    parts = d["accelerator_hours_breakdown"]
    assert set(parts) == {"steady_state", "long_context", "interruptions"} and parts["long_context"] > 0
    assert d["long_context"]["seq_len"] == 131072 and d["long_context"]["parallelism"]["cp"] > 1
    for extra, field in ((["--long-context-tokens", "800B"], "long-context-seq-len"),
                         (["--long-context-tokens", "20T", "--long-context-seq-len", "131072"], "long-context-tokens"),
                         (["--long-context-tokens", "800B", "--long-context-seq-len", "1e12"], "long-context-seq-len")):
        r = run_cli(*base, *extra)
        assert r.returncode == 2 and r.stderr.strip().startswith(f"dcplan: error: {field}:"), r.stderr
        assert r.stderr.count("\n") == 1


@pytest.mark.parametrize("command", [["train", "--tokens", "1T", "--gpus", "64"],
                                     ["infer", "--gpus", "1", "--input-len", "1000", "--output-len", "200"]])
def test_estimate_on_a_chip_without_published_power_says_unknown(run_cli, command):
    """TPU v5p publishes no TDP: the estimate succeeds, its energy is null in JSON and 'unknown' with why in the text."""
    base = ["estimate", *command, "--model", "llama-3.1-8b", "--hardware", "tpu-v5p"]
    r = run_cli(*base, "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["tokens_per_s"] > 0 and d["it_power_per_accelerator_w"] is None
    assert all(d[k] is None for k in ("energy_kwh", "facility_energy_kwh", "tco2e", "energy_kwh_per_mtok") if k in d)
    assert "no published tdp_w or node_power_w for tpu-v5p" in d["power_unknown_reason"]
    r = run_cli(*base, env={"COLUMNS": "400"})
    assert r.returncode == 0, r.stderr
    assert "unknown: no published tdp_w or node_power_w for tpu-v5p" in r.stdout and "dcplan hardware show tpu-v5p" in r.stdout
    assert " 0 Wh" not in r.stdout and "0.0 tCO2e" not in r.stdout and " 0 kWh" not in r.stdout
