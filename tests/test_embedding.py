"""Embedding services of encoder-only models: estimate_embeddings and `dcplan estimate infer` on an encoder."""

from __future__ import annotations

import json

import pytest

from dcplan.embedding import estimate_embeddings
from dcplan.errors import InputError
from dcplan.io.catalog import get_hardware, model_catalog
from dcplan.io.measured import calibration_for
from dcplan.model import flops as F


def _est(name="bert-base", n=2, **kw):
    hw = get_hardware("h100-sxm")
    return estimate_embeddings(model_catalog()[name], hw, n_accelerators=n, input_len=kw.pop("input_len", 256),
                               calibration=calibration_for(hw.name, measured=False).calibration, **kw)


def test_throughput_is_batches_of_one_forward_no_decode():
    e = _est()
    assert e.requests_per_s == pytest.approx(e.batch_size / e.batch_latency_s * 2)
    assert e.tokens_per_s == pytest.approx(e.requests_per_s * 256)
    assert e.memory_breakdown_bytes["kv_cache"] == 0
    d = e.to_dict()
    assert d["workload"] == "embeddings" and d["output_len"] == 0
    # bounded by physics: embedded tokens cannot need less than their FLOPs at the chip's peak
    assert e.tokens_per_s_per_accelerator * F.embed_flops(model_catalog()["bert-base"], 1, 256) / 256 < get_hardware("h100-sxm").peak("bf16")


def test_a_latency_limit_shrinks_the_batch():
    free = _est(n=1)
    tight = _est(n=1, latency_slo_s=free.batch_latency_s / 4)
    assert tight.batch_size < free.batch_size and tight.batch_latency_s <= free.batch_latency_s / 4
    assert tight.binding_limit == "latency_slo"


def test_decoder_models_are_refused():
    with pytest.raises(InputError) as err:
        _est("llama-3.2-1b")
    assert err.value.field == "model" and "encoder-only" in err.value.message


def test_input_longer_than_the_model_is_refused():
    with pytest.raises(InputError) as err:
        _est(input_len=1024)
    assert err.value.field == "input_len" and "512" in err.value.message


def test_cli_infer_on_an_encoder_gives_embedding_throughput(run_cli):
    out = run_cli("estimate", "infer", "--model", "bert-base", "--hardware", "h100", "--gpus", "4", "--input-len", "128", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["workload"] == "embeddings" and d["replicas"] == 4 and d["requests_per_s"] > 0 and d["tokens_per_s"] > 0
    table = run_cli("estimate", "infer", "--model", "modernbert-base", "--hardware", "h100", "--gpus", "1", "--input-len", "8192")
    assert table.returncode == 0 and "no tokens generated" in table.stdout


@pytest.mark.parametrize("extra, field", [(["--output-len", "16"], "output-len"), (["--tpot-slo", "0.05"], "tpot-slo"),
                                          (["--disaggregated"], "disaggregated"), (["--tp", "2"], "tp")])
def test_cli_generation_asked_of_an_encoder_is_one_line_exit_2(run_cli, extra, field):
    out = run_cli("estimate", "infer", "--model", "bert-base", "--hardware", "h100", "--gpus", "1", "--input-len", "128", *extra)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0] and "encoder-only" in lines[0] and "Traceback" not in out.stderr


def test_cli_latency_slo_on_a_decoder_is_refused(run_cli):
    out = run_cli("estimate", "infer", "--model", "llama-3.2-1b", "--hardware", "h100", "--gpus", "1", "--input-len", "128",
                  "--output-len", "16", "--latency-slo", "0.1")
    assert out.returncode == 2 and "latency-slo" in out.stderr and len(out.stderr.strip().splitlines()) == 1
