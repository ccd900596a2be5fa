"""Layout search and the global-batch rule."""

import statistics

import pytest

from dcplan.io.catalog import data_dir, default_calibration, get_hardware, get_model
from dcplan.io.yamlio import read_yaml
from dcplan.model.layout import default_batch_tokens, resolve_batch
from dcplan.specs import GlobalBatch, parse_global_batch


def _published_batches():
    return (read_yaml(data_dir() / "validation" / "global_batches.yaml").data or {})["runs"]


def test_batch_rule_is_the_median_of_published_runs():
    cal = default_calibration()
    rows = _published_batches()
    assert len(rows) >= 6 and all(r["source"] for r in rows)
    b0 = statistics.median(r["batch_tokens"] / (r["compute_flops"] / 1e24) ** cal.batch_exponent for r in rows)
    assert cal.batch_tokens_at_1e24 == pytest.approx(b0, rel=0.01)


def test_batch_rule_against_published_runs():
    # within a factor 2 of every published batch but DeepSeek-V3's 63M-token one
    cal = default_calibration()
    for r in _published_batches():
        ratio = default_batch_tokens(r["compute_flops"], cal) / r["batch_tokens"]
        if r["id"] == "deepseek-v3":
            assert ratio < 0.2
        else:
            assert 0.5 < ratio < 2.0, r["id"]


def test_batch_rule_grows_with_compute_as_deepseek_llm_law():
    cal = default_calibration()
    assert default_batch_tokens(8e24, cal) / default_batch_tokens(1e24, cal) == pytest.approx(8 ** 0.3271)


@pytest.mark.parametrize("text,seqs,tokens", [("2048", 2048, None), ("2048seq", 2048, None), ("16M", None, 16e6),
                                              ("4194304tok", None, 4194304), ("4M tokens", None, 4e6)])
def test_parse_global_batch(text, seqs, tokens):
    g = parse_global_batch(text)
    assert (g.sequences, g.tokens) == (seqs, tokens)


@pytest.mark.parametrize("text", ["1.5", "0", "abc", "-4M"])
def test_parse_global_batch_rejects(text):
    from dcplan.errors import InputError

    with pytest.raises(InputError) as exc:
        parse_global_batch(text)
    assert exc.value.field == "global_batch"


def test_resolve_batch_says_where_it_comes_from():
    cal = default_calibration()
    assert resolve_batch(GlobalBatch(sequences=512), 4096, 1e24, cal)[:2] == (512, True)
    b, exact, why = resolve_batch(GlobalBatch(tokens=8e6), 4096, 1e24, cal)
    assert (b, exact) == (1953, False) and "tokens" in why
    b, exact, why = resolve_batch(None, 4096, 1e24, cal)
    assert b == 1024 and why.startswith("default rule")


def test_search_considers_uneven_pipelines():
    # BLOOM: 70 layers on PP12 (arXiv:2211.05100 §3.4)
    from dcplan.estimate import estimate_training

    hw = get_hardware("jean-zay-a100")
    e = estimate_training(get_model("bloom-176b"), hw, tokens=1e12, n_accelerators=384, seq_len=2048, global_batch=2048,
                          layout=dict(tp=4, pp=12), calibration=default_calibration(hw.name))
    assert e.layout.pp == 12 and e.layout.dp == 8


def _setup(model: str, hardware: str, *, seq_len: int = 4096, precision: str = "fp8", batch: int = 1024):
    from dcplan.model.layout import TrainSetup
    from dcplan.model.params import count_params

    m, hw = get_model(model), get_hardware(hardware)
    return TrainSetup(model=m, counts=count_params(m), hardware=hw, calibration=default_calibration(hw.name), seq_len=seq_len,
                      precision=precision, global_batch=batch, capacity_bytes=hw.hbm_bytes)


def test_default_search_is_megatron_defaults_for_moe():
    # Megatron-LM's default schedule (expert all-to-all not overlapped) and its distributed
    # optimizer: DualPipe, the overlapped 1F1B and FSDP with experts only when given
    from dcplan.model.layout import search_layout

    res = search_layout(_setup("qwen3-235b-a22b", "dgx-h100", batch=8192), 256)
    assert res.layout.schedule == "1f1b" and res.layout.zero == 1


def test_dense_search_may_use_fsdp():
    from dcplan.model.layout import searched_zero

    assert searched_zero(get_model("llama-3.1-70b")) == (1, 3)
    assert searched_zero(get_model("deepseek-v3")) == (1,)


def test_given_dualpipe_searches_only_pipelines_it_can_run():
    # a given schedule with the rest searched: candidates with pp = 1 or odd pp are skipped
    from dcplan.model.layout import search_layout

    res = search_layout(_setup("deepseek-v3", "h800", batch=2048), 2048, {"schedule": "dualpipe"})
    lay = res.layout
    assert lay.schedule == "dualpipe" and lay.pp >= 2 and lay.pp % 2 == 0 and lay.vpp == 1
