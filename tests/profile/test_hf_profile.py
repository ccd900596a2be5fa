"""``dcplan profile --impl hf``: real transformers models from configs, random weights, no download."""

from __future__ import annotations

import json

import pytest

from dcplan.io.profile import read_profile

pytest.importorskip("transformers")

TINY_LLAMA = dict(model_type="llama", hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, vocab_size=512)
TINY_T5 = dict(model_type="t5", d_model=64, d_ff=128, d_kv=16, num_layers=1, num_heads=4, vocab_size=512, decoder_start_token_id=0,
               eos_token_id=1, pad_token_id=0)


@pytest.fixture(scope="module")
def hf_profile(tmp_path_factory):
    """A tiny profile of two transformers models (and the device kernels), through the library."""
    from dcplan.cli.profile_cmd import hf_models
    from dcplan.profile.run import ProfileRequest, profile_device

    folder = tmp_path_factory.mktemp("hf")
    paths = []
    for name, cfg in (("tiny-llama", TINY_LLAMA), ("tiny-t5", TINY_T5)):
        (folder / f"{name}.json").write_text(json.dumps(cfg))
        paths.append(str(folder / f"{name}.json"))
    models = hf_models(",".join(paths), "cpu")
    return profile_device(ProfileRequest(device="cpu", sweep="tiny", name="hf-test", threads=1, impl=("hf",), models=models))


def test_hf_points_are_marked_and_carry_their_config(hf_profile):
    model_points = [m for m in hf_profile.measurements if m.kind in ("train", "prefill", "decode", "seq2seq")]
    assert {m.kind for m in model_points} == {"train", "prefill", "decode", "seq2seq"}
    assert {m.config["mode"] for m in model_points if m.kind == "seq2seq"} == {"train", "generate"}
    for m in model_points:
        c = m.config
        assert c["impl"] == "hf" and c["model"] in ("tiny-llama", "tiny-t5") and c["transformers"]
        assert c["hf_config"]["model_type"] == c["hf_model_type"]
        assert m.time_s.estimate > 0 and m.peak_memory_bytes > 0
    assert {m.kind for m in hf_profile.measurements} >= {"gemm", "bandwidth", "attention"}  # the device is described
    assert hf_profile.settings["impl"] == ["hf"] and hf_profile.settings["models"] == ["tiny-llama", "tiny-t5"]


def test_hf_flops_equal_the_flop_counter(hf_profile):
    # the analytical FLOPs of the config's ModelSpec equal what FlopCounterMode counts on the transformers module
    for m in hf_profile.measurements:
        if m.config.get("impl") == "hf" and m.flops_counter is not None:
            assert m.flops_counter_causal_adjusted == pytest.approx(m.flops, rel=1e-9), m.id


def test_hf_points_count_what_they_dispatch(hf_profile):
    train = next(m for m in hf_profile.measurements if m.kind == "train")
    d = train.dispatch
    assert d["ops"] == d["gemm_ops"] + d["attention_ops"] + d["optimizer_ops"] + d["other_ops"] + d["embedding_backward_ops"]
    assert d["gemm_ops"] >= 7 * 2 * 3  # q, k, v, o, gate, up, down per layer, forward and two backward
    assert d["optimizer_ops"] > 0 and d["other_bytes"] > 0 and d["saved_bytes"] > 0


def test_hf_profile_round_trips(hf_profile, tmp_path):
    from dcplan.io.profile import write_profile

    back = read_profile(write_profile(tmp_path / "p.json", hf_profile))
    assert back.to_dict() == hf_profile.to_dict()


def test_graphs_decode_is_planned_only_on_cuda():
    from dcplan.profile.grids import hf_sizes
    from dcplan.profile.hf_points import HFModel, build_hf_points

    m = HFModel.from_config("tiny-llama", TINY_LLAMA, "x.json")
    cpu = build_hf_points([m], hf_sizes("quick", "cpu"), "fp32", "cpu")
    gpu = build_hf_points([m], hf_sizes("quick", "cuda"), "bf16", "cuda")
    assert not any(getattr(p, "graphs", False) for p in cpu)
    assert sum(getattr(p, "graphs", False) for p in gpu) == len(hf_sizes("quick", "cuda").decode)


def test_translation_shape_is_in_every_real_sweep():
    from dcplan.profile.grids import TRANSLATION, hf_sizes

    for sweep in ("quick", "standard"):
        for dev in ("cpu", "cuda"):
            assert any((s, t) == TRANSLATION for _, s, t in hf_sizes(sweep, dev).generate)


def test_models_without_hf_is_one_line(run_cli, tmp_path):
    r = run_cli("profile", "--device", "cpu", "--sweep", "tiny", "--models", "t5-small", "--out", str(tmp_path))
    assert r.returncode == 2 and "--impl hf" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_catalog_model_without_a_config_is_one_line(run_cli, tmp_path):
    r = run_cli("profile", "--device", "cpu", "--sweep", "tiny", "--impl", "hf", "--models", "gpt-3-175b", "--out", str(tmp_path))
    assert r.returncode == 2 and "no Hugging Face config.json" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_impl_hf_without_transformers_says_how_to_install(run_cli, tmp_path):
    blocker = tmp_path / "block"
    (blocker / "transformers").mkdir(parents=True)
    (blocker / "transformers" / "__init__.py").write_text("raise ImportError('blocked for this test')\n")
    r = run_cli("profile", "--device", "cpu", "--sweep", "tiny", "--impl", "hf", "--models", "t5-small", "--out", str(tmp_path / "out"),
                env={"PYTHONPATH": str(blocker)})
    assert r.returncode == 2, r.stderr
    assert "pip install 'dcplan[hf]'" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_transformers_error_skips_the_point_not_the_sweep(tmp_path):
    from dcplan.cli.profile_cmd import hf_models
    from dcplan.profile.run import ProfileRequest, profile_device

    broken = {**TINY_T5, "decoder_start_token_id": None}  # neither training nor generate can start a target
    (tmp_path / "broken-t5.json").write_text(json.dumps(broken))
    prof = profile_device(ProfileRequest(device="cpu", sweep="tiny", name="broken", threads=1, impl=("hf",),
                                         models=hf_models(str(tmp_path / "broken-t5.json"), "cpu")))
    reasons = [s["reason"] for s in prof.skipped if s["kind"] == "seq2seq"]
    assert len(reasons) == 2 and all(r.startswith("unsupported: ValueError") for r in reasons)
    assert {m.kind for m in prof.measurements} == {"gemm", "bandwidth", "attention"} and not prof.partial


def test_native_twins_share_the_models_shape():
    from dcplan.profile import workloads as W
    from dcplan.profile.grids import hf_sizes
    from dcplan.profile.hf_points import HFModel, HFTrainPoint, build_hf_points

    m = HFModel.from_config("tiny-llama", TINY_LLAMA, "x.json")
    pts = build_hf_points([m], hf_sizes("quick", "cpu"), "fp32", "cpu", twins=True)
    hf_train = [p for p in pts if isinstance(p, HFTrainPoint)]
    twins = [p for p in pts if type(p) is W.TrainPoint]
    assert len(twins) == len(hf_train)
    tw, hp = twins[0].config(), hf_train[0].config()
    for key in ("d_model", "n_layers", "n_heads", "n_kv_heads", "d_ff", "vocab_size", "batch", "seq_len"):
        assert tw[key] == hp[key], key
    assert "impl" not in tw
