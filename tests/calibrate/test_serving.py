"""Serving rows, the per-stack fit and its held-out errors (dcplan.calibrate.serving)."""

import math

import pytest

from dcplan.calibrate import serving as S
from dcplan.calibrate.stacks import select_stack
from dcplan.errors import InputError
from dcplan.io.catalog import stack_catalog
from dcplan.io.validation import load_serving_cases, read_serving_fit, serving_fit_path
from dcplan.io.yamlio import read_yaml


@pytest.fixture(scope="module")
def loaded():
    return load_serving_cases()


def test_every_row_has_a_source_a_grade_and_lengths(loaded):
    cases, datasets = loaded
    assert len(cases) >= 150
    for c in cases:
        r = c.row
        assert r.source.strip() and r.quality in ("A", "B", "C"), r.id
        assert "/work/" not in r.source and "shared/" not in r.source, r.id
        lengths = S.row_lengths(r, datasets)
        assert lengths.mean_input > 0 and lengths.mean_output > 0
    for ds in datasets.values():
        assert sum(share for share, _, _ in ds.cells) == pytest.approx(1.0, abs=1e-3), ds.name
        mix = S.dataset_lengths(ds.name, datasets)
        assert mix.mean_output == pytest.approx(ds.output_mean_tokens, rel=0.02)


def test_rows_cover_every_vendor_round_and_model(loaded):
    cases, _ = loaded
    vendors = {c.hw.vendor for c in cases}
    assert {"nvidia", "amd", "intel"} <= vendors
    rounds = {c.row.benchmark.split(" (")[0] for c in cases if c.row.benchmark.startswith("MLPerf")}
    assert {"MLPerf Inference v4.1", "MLPerf Inference v5.0", "MLPerf Inference v5.1"} <= rounds
    models = {c.row.model for c in cases}
    assert {"llama-2-70b", "mixtral-8x7b", "llama-3.1-405b", "llama-3.1-8b", "deepseek-r1"} <= models
    assert {c.row.scenario for c in cases} == {"offline", "server", "interactive"}


def test_a_row_left_out_of_the_fit_must_say_why():
    base = dict(id="x", benchmark="b", scenario="offline", model="llama-2-70b", hardware="h100-sxm", n_accelerators=8,
                stack="vllm-cuda", engine_version="v", precision="fp8", kv_precision="fp8", input_len=100, output_len=100,
                tokens_per_s=1.0, source="s", quality="A")
    with pytest.raises(InputError) as e:
        S.ServingRow(**base, fit=False)
    assert e.value.field == "not_fitted"
    assert not S.ServingRow(**base, fit=False, not_fitted="superseded version").fit
    with pytest.raises(InputError):
        S.ServingRow(**{**base, "scenario": "batch"})


def test_summary_counts_a_row_the_model_cannot_place_as_a_full_miss():
    s = S.summary([1.1, 0.9, None])
    assert s["n"] == 3 and s["failed"] == 1
    assert s["median_ape_pct"] == pytest.approx(10.0)
    assert s["bias_pct"] == pytest.approx((math.sqrt(1.1 * 0.9) - 1) * 100)
    assert S.summary([]) == {"n": 0}


def test_held_out_is_leave_one_out_for_small_stacks_and_k_fold_above():
    assert S.held_out_folds(3) == [[0], [1], [2]]
    folds = S.held_out_folds(S.LOO_MAX_ROWS + 5)
    assert len(folds) == S.KFOLD
    assert sorted(i for f in folds for i in f) == list(range(S.LOO_MAX_ROWS + 5))


def test_chip_terms_need_rows_on_two_chips(loaded):
    cases, _ = loaded
    rocm = [c for c in cases if c.row.stack == "vllm-rocm"]
    assert S.chip_terms(rocm) == ["mi300x", "mi325x"]
    gaudi = [c for c in cases if c.row.stack == "tgi-gaudi"]
    assert S.chip_terms(gaudi) == []  # one chip: its term would be the stack's efficiency itself


def test_shipped_stack_parameters_reproduce_the_stored_fit(loaded):
    """data/stacks/*.yaml and data/validation/serving_fit.yaml come from the same fit: each fitted
    row predicted with its stack's shipped calibration gives the stored in-sample ratio."""
    cases, datasets = loaded
    stacks = stack_catalog()
    stored = read_yaml(serving_fit_path()).data["rows"]
    fitted = [c for c in cases if c.row.fit]
    assert set(stored) == {c.row.id for c in fitted}
    for c in fitted[::7]:
        choice = select_stack(c.hw, precision=None, requested=c.row.stack, stacks=stacks, base=c.base)
        p = S.predict_row(c.row, c.model, c.hw, c.stack, choice.calibration, datasets)
        want = stored[c.row.id]["fitted"]
        if want is None:
            assert p.ratio is None, c.row.id
        else:
            assert p.ratio == pytest.approx(want, rel=0.02), c.row.id


def test_shipped_held_out_errors_meet_the_targets():
    """Every stack with >= 3 fitted rows: held-out median APE <= 15%, except the one documented
    miss (vLLM on CUDA, 4 rows on two chips: BENCHMARKS.md); MoE rows <= 25%."""
    held = read_serving_fit()
    cases, _ = load_serving_cases()
    by_stack: dict[str, list] = {}
    for c in cases:
        if c.row.fit:
            by_stack.setdefault(c.row.stack, []).append(held[c.row.id])
    for name, ratios in by_stack.items():
        s = S.summary(ratios)
        if s["n"] >= 3 and name != "vllm-cuda":
            assert s["median_ape_pct"] <= 15.0, (name, s)
    moe = S.summary([held[c.row.id] for c in cases if c.row.fit and c.row.is_moe])
    assert moe["n"] >= 10 and moe["median_ape_pct"] <= 25.0


def test_with_values_applies_a_chips_own_term(loaded):
    cases, _ = loaded
    base = cases[0].base
    values = {**S.NEUTRAL, S.chip_param("mi300x"): 0.8}
    assert S.with_values(base, values, "mi300x").chip_eta_frac == 0.8
    assert S.with_values(base, values, "mi325x").chip_eta_frac == 1.0
    assert S.chip_overrides(values) == {"mi300x": {"chip_eta_frac": 0.8}}


@pytest.mark.slow
def test_a_small_stack_refits_to_its_shipped_values_and_holds_out_exactly(loaded):
    """Refit vLLM ROCm from its stored prior: the shipped values come back, and the rows refitted
    one at a time without themselves still meet the target."""
    cases, datasets = loaded
    spec = stack_catalog()["vllm-rocm"]
    own = [c for c in cases if c.row.stack == "vllm-rocm" and c.row.fit]
    prior = dict(spec.fit["prior"])
    sol = S.fit_values(own, datasets, prior, start=prior, chips=S.chip_terms(own))
    shipped = S.values_of(select_stack(own[0].hw, precision=None, requested="vllm-rocm", stacks=stack_catalog(),
                                       base=own[0].base).calibration)
    for name in ("decode_bw_frac", "prefill.eta_max", "serving_memory_frac"):
        assert sol.values[name] == pytest.approx(shipped[name], rel=0.05), name
    held = S.held_out(own, datasets, prior, sol, S.chip_terms(own), max_nfev=5)
    assert set(held) == {c.row.id for c in own}
    assert S.summary(list(held.values()))["median_ape_pct"] <= 15.0
