"""Embeddings services (encoder-only models, no decode) in workloads and plans."""

from __future__ import annotations

import json

import pytest

from dcplan.capacity.loaders import load_plan_inputs, parse_workload_text, read_cost_defaults, resolve
from dcplan.capacity.plan import plan_capacity
from dcplan.errors import InputError
from tests.capacity.conftest import SAMPLES, plan_text

EMBED = """\
name: t
inference:
  - name: search
    kind: embeddings
    model: bert-base
    requests_per_s: 1000
    input_len: 256
    peak_to_average: 2
    latency_p95_s: 0.05
hardware: [h100-sxm]
"""


def test_the_sample_plans_an_embeddings_service():
    plan = plan_capacity(load_plan_inputs(SAMPLES / "embeddings-search.yaml"))
    for opt in plan.options:
        (svc,) = opt.services
        assert svc.kind == "embeddings" and svc.tpot_s is None and svc.tp == 1
        assert svc.ttft_s <= 0.05  # one batched forward within the latency limit
        # enough replicas for the design peak of embedded tokens (2000 req/s x 256 tokens x 2 x 1.5^3)
        assert svc.design_peak_output_tokens_per_s == pytest.approx(2000 * 256 * 2 * 1.5**3)
        assert svc.replicas * svc.output_tokens_per_s_per_replica >= svc.design_peak_output_tokens_per_s
        assert opt.usd_per_mtok is not None and opt.serving_stack is None


def test_replicas_follow_demand():
    small = plan_text(EMBED).options[0].services[0]
    big = plan_text(EMBED.replace("requests_per_s: 1000", "requests_per_s: 1000000")).options[0].services[0]
    assert big.replicas > small.replicas
    assert big.replicas == pytest.approx(big.design_peak_output_tokens_per_s / big.output_tokens_per_s_per_replica, abs=1)


def _error(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        spec, origin = parse_workload_text(text, "<test>")
        plan_capacity(resolve(spec, origin, read_cost_defaults()))
    return info.value


@pytest.mark.parametrize("change, field", [
    (("latency_p95_s: 0.05", "latency_p95_s: 0.05\n    output_len: 10"), "output_len"),
    (("latency_p95_s: 0.05", "tpot_p95_s: 0.05"), "tpot_p95_s"),
    (("kind: embeddings", "kind: embed"), "kind"),
    (("model: bert-base", "model: llama-3.2-1b"), "model"),
])
def test_bad_embeddings_services_name_the_field(change, field):
    err = _error(EMBED.replace(*change))
    assert field in err.field and err.file == "<test>" and err.line is not None


def test_generation_of_an_encoder_names_the_field():
    text = EMBED.replace("    kind: embeddings\n", "").replace("latency_p95_s: 0.05", "output_len: 10")
    err = _error(text)
    assert "kind" in err.field and "encoder-only" in err.message


def test_cli_plan_of_the_sample(run_cli):
    out = run_cli("plan", str(SAMPLES / "embeddings-search.yaml"), "--json")
    assert out.returncode == 0, out.stderr
    svc = json.loads(out.stdout)["options"][0]["services"][0]
    assert svc["kind"] == "embeddings" and svc["tpot_s"] is None
