"""Hugging Face config.json -> ModelSpec: parameter counts equal what transformers instantiates.

Every family is built by ``transformers`` from a tiny config with random weights (nothing is
downloaded) and ``sum(p.numel())`` is compared with ``count_params``; the configs shipped in
data/models/configs are instantiated on the meta device (no memory) and compared the same way.
"""

from __future__ import annotations

import json

import pytest

from dcplan.errors import InputError
from dcplan.io.catalog import get_model, model_catalog, model_config
from dcplan.io.hf_config import SUPPORTED_FAMILIES, load_config_spec, spec_from_config
from dcplan.model.params import count_params

_DEC = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=101)

TINY = {
    "llama": dict(model_type="llama", **_DEC),
    "llama-biases-tied": dict(model_type="llama", **{**_DEC, "num_key_value_heads": 4}, attention_bias=True, mlp_bias=True,
                              head_dim=8, tie_word_embeddings=True),
    "mistral": dict(model_type="mistral", **_DEC),
    "mixtral": dict(model_type="mixtral", **_DEC, num_local_experts=4, num_experts_per_tok=2),
    "qwen2": dict(model_type="qwen2", **_DEC, tie_word_embeddings=True),
    "qwen3": dict(model_type="qwen3", **_DEC, head_dim=32),
    "qwen3_moe": dict(model_type="qwen3_moe", **{**_DEC, "num_hidden_layers": 3}, moe_intermediate_size=32, num_experts=4,
                      num_experts_per_tok=2, mlp_only_layers=[0], head_dim=16),
    "qwen3_moe-step2": dict(model_type="qwen3_moe", **{**_DEC, "num_hidden_layers": 4}, moe_intermediate_size=32, num_experts=4,
                            num_experts_per_tok=2, decoder_sparse_step=2, head_dim=16),
    "deepseek_v3": dict(model_type="deepseek_v3", **{**_DEC, "num_hidden_layers": 3}, moe_intermediate_size=32, n_routed_experts=4,
                        num_experts_per_tok=2, n_shared_experts=1, first_k_dense_replace=1, q_lora_rank=24, kv_lora_rank=16,
                        qk_nope_head_dim=8, qk_rope_head_dim=8, v_head_dim=8, n_group=1, topk_group=1),
    "deepseek_v3-no-q-lora": dict(model_type="deepseek_v3", **{**_DEC, "num_hidden_layers": 3}, moe_intermediate_size=32,
                                  n_routed_experts=4, num_experts_per_tok=2, n_shared_experts=2, first_k_dense_replace=2,
                                  q_lora_rank=None, kv_lora_rank=16, qk_nope_head_dim=8, qk_rope_head_dim=8, v_head_dim=8,
                                  n_group=1, topk_group=1),
    "gemma": dict(model_type="gemma", **_DEC, head_dim=16),
    "gemma2": dict(model_type="gemma2", **_DEC, head_dim=16),
    "gemma3_text": dict(model_type="gemma3_text", **_DEC, head_dim=16),
    "gemma3-multimodal": dict(model_type="gemma3", text_config=dict(**_DEC, head_dim=16)),
    "phi3": dict(model_type="phi3", **_DEC, pad_token_id=0),
    "gpt2": dict(model_type="gpt2", n_embd=64, n_layer=2, n_head=4, vocab_size=101, n_positions=64),
    "gpt2-n_inner": dict(model_type="gpt2", n_embd=64, n_layer=2, n_head=4, vocab_size=101, n_positions=64, n_inner=100),
    "gpt_neox": dict(model_type="gpt_neox", **{k: v for k, v in _DEC.items() if k != "num_key_value_heads"}),
    "gpt_neox-no-bias-tied": dict(model_type="gpt_neox", **{k: v for k, v in _DEC.items() if k != "num_key_value_heads"},
                                  attention_bias=False, tie_word_embeddings=True),
    "falcon-new-architecture": dict(model_type="falcon", hidden_size=64, num_hidden_layers=2, num_attention_heads=8, num_kv_heads=2,
                                    new_decoder_architecture=True, vocab_size=101),
    "falcon-multi-query": dict(model_type="falcon", hidden_size=64, num_hidden_layers=2, num_attention_heads=8, vocab_size=101),
    "falcon-sequential-alibi": dict(model_type="falcon", hidden_size=64, num_hidden_layers=2, num_attention_heads=8, vocab_size=101,
                                    parallel_attn=False, multi_query=False, bias=True, alibi=True),
    "t5": dict(model_type="t5", d_model=64, d_ff=96, d_kv=8, num_layers=2, num_heads=4, vocab_size=101),
    "t5-gated-untied": dict(model_type="t5", d_model=64, d_ff=96, d_kv=16, num_layers=2, num_decoder_layers=3, num_heads=4,
                            vocab_size=101, feed_forward_proj="gated-gelu", tie_word_embeddings=False),
    "mt5": dict(model_type="mt5", d_model=64, d_ff=96, d_kv=8, num_layers=2, num_heads=4, vocab_size=101, tie_word_embeddings=False),
    # encoder-only: compared with the *ForMaskedLM model transformers builds (AutoModelForMaskedLM)
    "bert": dict(model_type="bert", hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, vocab_size=101,
                 max_position_embeddings=40),
    "bert-1-type-relu": dict(model_type="bert", hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
                             vocab_size=101, type_vocab_size=1, hidden_act="relu"),
    "roberta": dict(model_type="roberta", hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                    vocab_size=101, max_position_embeddings=34, type_vocab_size=1, pad_token_id=1),
    "xlm-roberta": dict(model_type="xlm-roberta", hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                        vocab_size=101, max_position_embeddings=34, type_vocab_size=1, pad_token_id=1),
    "modernbert": dict(model_type="modernbert", hidden_size=64, intermediate_size=96, num_hidden_layers=4, num_attention_heads=4,
                       vocab_size=101, pad_token_id=0, bos_token_id=1, eos_token_id=2, cls_token_id=1, sep_token_id=2),
    "modernbert-biases": dict(model_type="modernbert", hidden_size=64, intermediate_size=96, num_hidden_layers=3,
                              num_attention_heads=4, vocab_size=101, attention_bias=True, mlp_bias=True, norm_bias=True,
                              classifier_bias=True, decoder_bias=False, pad_token_id=0, bos_token_id=1, eos_token_id=2,
                              cls_token_id=1, sep_token_id=2),
}


def _transformers_count(cfg: dict) -> int:
    from dcplan.profile.hf_build import build_hf, n_params

    model = build_hf(cfg, device="meta")
    return n_params(model) + _untied_head_tied_by_transformers(cfg, model)


def _untied_head_tied_by_transformers(cfg: dict, model) -> int:
    """transformers 5.x ties T5/mT5's output layer whatever tie_word_embeddings says (its config class
    forces True); the published T5 v1.1/mT5 checkpoints have their own. dcplan counts the published
    architecture, so the output layer transformers left out is added back here."""
    head = getattr(model, "lm_head", None)
    if cfg.get("tie_word_embeddings") is False and head is not None and head.weight is model.get_input_embeddings().weight:
        return head.weight.numel()
    return 0


@pytest.mark.parametrize("case", sorted(TINY))
def test_tiny_config_counts_equal_transformers(case):
    pytest.importorskip("transformers")
    cfg = TINY[case]
    assert count_params(spec_from_config(cfg, file=f"{case}.json")).total == _transformers_count(cfg)


@pytest.mark.parametrize("case", ["bert", "roberta"])
def test_encoder_with_pooler_equals_the_base_model(case):
    """dcplan counts an encoder as its *ForMaskedLM model; with ``pooler`` and without the masked-LM
    head it counts BertModel / RobertaModel (what AutoModel builds: pooler, no head)."""
    pytest.importorskip("transformers")
    from dataclasses import replace

    from dcplan.profile.hf_build import hf_config, require_transformers

    spec = replace(spec_from_config(TINY[case], file="x"), pooler=True, mlm_head=False, output_bias=False)
    model = require_transformers().AutoModel.from_config(hf_config(TINY[case]))
    assert count_params(spec).total == sum(p.numel() for p in model.parameters())


def test_bert_base_is_110m_encoder(run_cli):
    out = run_cli("models", "show", "bert-base", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["architecture"] == "encoder"
    assert abs(data["params_total"] / 110e6 - 1) < 0.02 and data["kv_bytes_per_token_bf16"] is None


def test_every_family_is_covered_by_a_tiny_config():
    covered = {spec_from_config(c, file="x").family for c in TINY.values()} | {c["model_type"] for c in TINY.values()}
    assert set(SUPPORTED_FAMILIES) <= covered


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(n for n, m in model_catalog().items() if m.config_file))
def test_shipped_config_counts_equal_transformers(name):
    pytest.importorskip("transformers")
    cfg, _ = model_config(model_catalog()[name])
    assert count_params(model_catalog()[name]).total == _transformers_count(cfg)


def test_catalog_entries_with_a_config_take_their_architecture_from_it():
    m = model_catalog()["llama-3.1-8b"]
    assert m.config_file == "configs/llama-3.1-8b.json"
    assert (m.d_model, m.n_layers, m.n_kv_heads, m.d_ff, m.vocab_size) == (4096, 32, 8, 14336, 128256)
    assert m.display_name == "Llama 3.1 8B" and m.published_params == 8.0e9
    assert model_catalog()["mistral-7b"].sliding_window == 4096
    ds = model_catalog()["deepseek-v3"]
    assert ds.mla is not None and ds.moe.first_dense_layers == 3 and ds.moe.n_shared_experts == 1


def test_a_path_is_a_model_name_everywhere(tmp_path):
    cfg, _ = model_config(model_catalog()["qwen2.5-0.5b"])
    folder = tmp_path / "my-qwen"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(cfg))
    by_folder = get_model(str(folder))
    by_file = get_model(str(folder / "config.json"))
    assert by_folder.name == by_file.name == "my-qwen"
    assert count_params(by_folder).total == count_params(model_catalog()["qwen2.5-0.5b"]).total


def test_sliding_windows_are_recorded():
    gemma2 = spec_from_config(TINY["gemma2"], file="g")
    assert gemma2.sliding_window == 4096 and gemma2.sliding_window_layers == 1  # layers 0, 2, ... of 2
    gemma3 = spec_from_config({**TINY["gemma3_text"], "num_hidden_layers": 12}, file="g")
    assert gemma3.sliding_window_layers == 10  # five of every six
    qwen = spec_from_config({**TINY["qwen2"], "use_sliding_window": True, "max_window_layers": 1}, file="q")
    assert (qwen.sliding_window, qwen.sliding_window_layers) == (4096, 1)
    assert spec_from_config(TINY["llama"], file="l").sliding_window is None


# --- bad input -------------------------------------------------------------------------------


def _write(tmp_path, text: str, name: str = "config.json"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("text, field, words", [
    ("{not json", "model", "not valid JSON"),
    ("[1, 2]", "model", "expected a mapping"),
    (json.dumps({"hidden_size": 64}), "model_type", "missing"),
    (json.dumps({"model_type": "mamba", "hidden_size": 64}), "model_type", "cannot read model_type 'mamba'"),
    (json.dumps({k: v for k, v in TINY["llama"].items() if k != "hidden_size"}), "hidden_size", "missing"),
    (json.dumps({**TINY["llama"], "num_attention_heads": 5}), "num_attention_heads", "must divide the hidden size (64)"),
    (json.dumps({**TINY["llama"], "num_key_value_heads": 3}), "num_key_value_heads", "must divide num_attention_heads (4)"),
    (json.dumps({**TINY["llama"], "num_hidden_layers": "two"}), "num_hidden_layers", "whole number"),
    (json.dumps({**TINY["llama"], "tie_word_embeddings": "yes"}), "tie_word_embeddings", "true or false"),
    (json.dumps({"model_type": "gemma3", "text_config": {k: v for k, v in _DEC.items() if k != "vocab_size"}}), "text_config.vocab_size",
     "missing"),
    (json.dumps({**TINY["mixtral"], "num_experts_per_tok": 9}), "num_experts_per_tok", "<= the number of experts"),
    (json.dumps({**TINY["bert"], "tie_word_embeddings": False}), "tie_word_embeddings", "false is not read for bert"),
    (json.dumps({**TINY["bert"], "position_embedding_type": "relative_key"}), "position_embedding_type", "only 'absolute'"),
    (json.dumps({**TINY["bert"], "num_attention_heads": 5}), "num_attention_heads", "must divide the hidden size (64)"),
])
def test_bad_config_is_one_clear_error(tmp_path, text, field, words):
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_config_spec(path)
    assert err.value.field == field and words in err.value.message
    assert err.value.file == str(path)


def test_unknown_model_type_lists_the_families(tmp_path):
    path = _write(tmp_path, json.dumps({"model_type": "mamba"}))
    with pytest.raises(InputError) as err:
        load_config_spec(path)
    for family in ("llama", "deepseek_v3", "t5", "gpt_neox"):
        assert family in err.value.message


def test_folder_without_config(tmp_path):
    with pytest.raises(InputError, match="no config.json in this folder"):
        load_config_spec(tmp_path)


def test_catalog_yaml_may_not_repeat_the_architecture(tmp_path, monkeypatch):
    import shutil

    from dcplan.io import catalog

    data = tmp_path / "data"
    shutil.copytree(catalog.data_dir(), data)
    y = data / "models" / "t5-base.yaml"
    y.write_text(y.read_text() + "d_model: 768\n")
    monkeypatch.setenv("DCPLAN_DATA", str(data))
    catalog.model_catalog.cache_clear()
    try:
        with pytest.raises(InputError, match="d_model: is given by configs/t5-base.json"):
            catalog.model_catalog()
    finally:
        catalog.model_catalog.cache_clear()


@pytest.mark.parametrize("args", [["models", "show"], ["estimate", "infer", "--hardware", "h100", "--gpus", "1", "--input-len", "10",
                                                       "--output-len", "10", "--model"]])
def test_cli_reads_a_config_path(run_cli, tmp_path, args):
    cfg, _ = model_config(model_catalog()["smollm2-135m"])
    path = _write(tmp_path, json.dumps(cfg), "smol.json")
    out = run_cli(*args, str(path), "--json")
    assert out.returncode == 0, out.stderr
    assert "smol" in out.stdout


def test_cli_bad_config_exits_2_with_one_line(run_cli, tmp_path):
    path = _write(tmp_path, json.dumps({**TINY["llama"], "num_key_value_heads": 3}))
    out = run_cli("models", "show", str(path))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "num_key_value_heads" in lines[0]
