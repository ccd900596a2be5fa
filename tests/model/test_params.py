"""Parameter counts from the architecture match every catalog model's published total."""

import pytest

from dcplan.io.catalog import model_catalog
from dcplan.model.params import count_params
from dcplan.model.shapes import derive_dense, derive_moe

MODELS = sorted(model_catalog())


@pytest.mark.parametrize("name", MODELS)
def test_count_matches_published_total_within_2pct(name):
    m = model_catalog()[name]
    assert m.published_params, f"{name} has no published total"
    total = count_params(m).total
    assert abs(total / m.published_params - 1) <= 0.02, f"{name}: {total:.4e} vs published {m.published_params:.4e}"


@pytest.mark.parametrize("name", [n for n in MODELS if model_catalog()[n].published_active_params])
def test_moe_active_params_match_published_within_2pct(name):
    m = model_catalog()[name]
    active = count_params(m).active
    assert abs(active / m.published_active_params - 1) <= 0.02


def test_required_models_are_in_the_catalog():
    required = {
        "gpt-2-small", "gpt-2-medium", "gpt-2-large", "gpt-2-xl", "gpt-3-175b", "opt-175b", "bloom-176b",
        "llama-7b", "llama-13b", "llama-33b", "llama-65b", "llama-2-7b", "llama-2-13b", "llama-2-70b",
        "llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "mistral-7b", "mixtral-8x7b", "deepseek-v3",
        "falcon-180b", "t5-base",
    }
    assert required <= set(MODELS)


def test_every_model_has_source_and_quality():
    for m in model_catalog().values():
        assert m.source and m.quality, m.name


def test_gpt2_small_exact_count():
    # openai-community/gpt2: 124,439,808 parameters (tied embeddings, learned positions, biases)
    assert count_params(model_catalog()["gpt-2-small"]).total == 124_439_808


def test_mixtral_active_is_two_of_eight_experts():
    c = count_params(model_catalog()["mixtral-8x7b"])
    assert c.experts_active_routed == pytest.approx(c.experts_routed * 2 / 8)


@pytest.mark.parametrize("n", [1e8, 1e9, 7e9, 70e9, 405e9, 1e12])
def test_derived_dense_shape_hits_the_requested_size(n):
    spec = derive_dense(n)
    assert abs(count_params(spec).total / n - 1) < 0.05
    assert spec.n_heads * spec.d_head == spec.d_model


def test_derived_moe_hits_total_and_active():
    spec = derive_moe(671e9, 37e9)
    c = count_params(spec)
    assert abs(c.total / 671e9 - 1) < 0.03
    assert abs(c.active / 37e9 - 1) < 0.05
    assert spec.moe is not None and spec.moe.top_k == 2
