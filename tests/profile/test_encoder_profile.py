"""The profiler's encoder-only mode: dcplan's BERT-style encoder and transformers encoders (--impl hf)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from dcplan.model.params import count_params  # noqa: E402
from dcplan.profile.config import TransformerConfig, from_measurement  # noqa: E402
from dcplan.profile.transformer import build  # noqa: E402
from dcplan.profile.workloads import Ctx, EncoderPoint, masked_positions  # noqa: E402

CFG = TransformerConfig(d_model=64, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=512, max_seq_len=64, encoder_only=True)
CPU = Ctx(torch.device("cpu"), "fp32")


def test_the_encoder_is_described_exactly_by_its_spec():
    spec = CFG.model_spec()
    assert spec.architecture == "encoder"
    assert sum(p.numel() for p in build(CFG).parameters()) == count_params(spec).total


@pytest.mark.parametrize("mode", ["train", "embed"])
def test_flop_counter_equals_the_analytical_count(mode):
    """Bidirectional attention (nothing masked, nothing to subtract) and, in training, the head on
    the masked 15% only: FlopCounterMode counts exactly what dcplan.model.flops says."""
    p = EncoderPoint(CFG, 3, 40, mode, "fp32").prepare(CPU)
    p.run()
    assert p.count() == pytest.approx(p.flops, rel=1e-12)


def test_the_point_records_what_calibration_needs():
    cfg = EncoderPoint(CFG, 2, 40, "train", "fp32").config()
    assert cfg["architecture"] == "encoder" and cfg["masked"] == masked_positions(40) == 6
    assert cfg["mlm_head_frac"] == pytest.approx(6 / 40)
    assert from_measurement(cfg).encoder_only
    assert "mlm_head_frac" not in EncoderPoint(CFG, 2, 40, "embed", "fp32").config()


@pytest.mark.parametrize("family", ["bert", "modernbert"])
@pytest.mark.parametrize("mode", ["train", "embed"])
def test_transformers_encoders_count_as_dcplan_says(family, mode):
    """--impl hf: BertForMaskedLM / ModernBertForMaskedLM (head on every position) and their base
    encoder for embeddings; FLOPs equal the counter's (sequence within ModernBERT's local window)."""
    pytest.importorskip("transformers")
    from dcplan.profile.hf_points import HFEncoderPoint, HFModel
    from tests.io.test_hf_config import TINY

    model = HFModel.from_config(family, TINY[family], f"{family}.json")
    assert model.is_encoder
    p = HFEncoderPoint(model, 2, 24, mode, "fp32").prepare(CPU)
    p.run()
    assert p.count() == pytest.approx(p.flops, rel=1e-12)
