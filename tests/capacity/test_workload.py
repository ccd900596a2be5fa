"""Workload files: fields, defaults with sources, and bad input named by file:line:field."""

from __future__ import annotations

import pytest

from dcplan.capacity.loaders import parse_workload_text, read_cost_defaults, resolve
from dcplan.errors import InputError

SERVICE = """\
name: t
inference:
  - name: chat
    model: llama-3.1-70b
    tokens_per_day: 1B
    input_len: 1000
    output_len: 500
    peak_to_average: 2
hardware: [h100-sxm]
"""


def parse(text: str):
    return parse_workload_text(text, "<test>")


def resolved(text: str, **kw):
    spec, origin = parse(text)
    return resolve(spec, origin, read_cost_defaults(), **kw)


def error_of(text: str, **kw) -> InputError:
    with pytest.raises(InputError) as info:
        resolved(text, **kw)
    return info.value


def test_numbers_with_suffixes_and_plain_hardware_names():
    spec, _ = parse(SERVICE.replace("tokens_per_day: 1B", "tokens_per_day: 1.5e9"))
    assert spec.inference[0].tokens_per_day == 1.5e9
    assert spec.hardware[0].name == "h100-sxm"
    spec, _ = parse(SERVICE)
    assert spec.inference[0].tokens_per_day == 1e9


def test_defaults_carry_their_source_and_given_values_their_line():
    inp = resolved(SERVICE + "site:\n  pue: 1.1\n")
    assert inp.economics.pue.value == 1.1 and inp.economics.pue.quality == "given"
    assert "<test>:11" in inp.economics.pue.source
    e = inp.economics.facility_usd_per_mw
    assert e.value == 11.7e6 and "Cushman" in e.source and e.quality == "B"
    opt = inp.options[0]
    assert opt.accelerator_usd.quality == "C" and "Raymond James" in opt.accelerator_usd.source
    assert opt.cloud_usd_per_hour.value == pytest.approx(4.916)


def test_every_default_has_a_source_and_a_grade():
    costs = read_cost_defaults()
    for name, v in costs.defaults.items():
        assert v.source.strip() and v.quality in ("A", "B", "C", "convention"), name
    for hw, prices in costs.hardware.items():
        assert prices.accelerator_usd is not None and prices.accelerator_usd.source, hw


def test_empty_sections_are_empty_not_errors():
    inp = resolved(SERVICE + "site:\nfinance:\nrack:\n")
    assert inp.economics.pue.quality == "A"


@pytest.mark.parametrize("text,where,words", [
    ("name: t\ninference: [\n", "<test>:", "malformed YAML"),
    (SERVICE.replace("    input_len: 1000", "    input_lenght: 1000"), "<test>:6:", "did you mean 'input_len'"),
    (SERVICE.replace("peak_to_average: 2", "peak_to_average: high"), "<test>:8:", "inference[0].peak_to_average"),
    (SERVICE.replace("    peak_to_average: 2\n", ""), "<test>:3:", "missing required field: peak_to_average"),
    (SERVICE.replace("tokens_per_day: 1B", "tokens_per_day: 0"), "<test>:5:", "inference[0].tokens_per_day: must be > 0"),
    (SERVICE.replace("tokens_per_day: 1B", "tokens_per_day: -3"), "<test>:5:", "must be > 0"),
    (SERVICE.replace("tokens_per_day: 1B", "tokens_per_day: 1B\n    requests_per_s: 3"), "<test>:", "exactly one of requests_per_s or tokens_per_day"),
    (SERVICE.replace("peak_to_average: 2", "peak_to_average: 0.5"), "<test>:8:", "must be >= 1"),
    (SERVICE.replace("model: llama-3.1-70b", "model: lama-3.1-70b"), "<test>:4:", "inference[0].model: unknown model 'lama-3.1-70b'; did you mean"),
    (SERVICE.replace("[h100-sxm]", "[h100-sxm, h2000]"), "<test>:9:", "hardware[1].name: unknown hardware"),
    (SERVICE.replace("[h100-sxm]", "[h100-sxm, h100]"), "<test>:9:", "listed twice"),
    (SERVICE.replace("[h100-sxm]", "[h100-pcie]"), "<test>:9:", "hardware[0].price_usd: no published purchase price for h100-pcie"),
    (SERVICE.replace("hardware: [h100-sxm]", "hardware: []"), "<test>:", "at least one hardware option"),
    ("schema_version: 2\n" + SERVICE, "<test>:1:", "reads workload version 1"),
    (SERVICE + "start_quarter: 2026-Q1\n", "<test>:10:", "must look like 2026Q1"),
    (SERVICE + "site:\n  pue: 0.9\n", "<test>:11:", "site.pue: must be >= 1"),
    (SERVICE + "finance:\n  network_cost_frac: 1.0\n", "<test>:11:", "finance.network_cost_frac"),
    (SERVICE + "finance:\n  utilization_frac: 1.5\n", "<test>:11:", "finance.utilization_frac"),
    ("name: t\nhardware: [h100-sxm]\n", "<test>:1:", "neither training jobs nor inference services"),
    ("", "<test>", "empty"),
])
def test_bad_input_names_file_line_and_field(text, where, words):
    err = error_of(text)
    line = err.one_line()
    assert where in line and words in line, line
    assert "\n" not in line


def test_training_needs_exactly_one_of_deadline_and_count():
    base = "name: t\ntraining:\n  - name: j\n    model: mpt-7b\n    tokens: 1T\n{extra}hardware: [a100-40gb]\n"
    assert "exactly one of deadline_days" in error_of(base.format(extra="")).message
    assert "exactly one of deadline_days" in error_of(base.format(extra="    deadline_days: 3\n    accelerators: 64\n")).message
    err = error_of(base.format(extra="    deadline_days: 3\n").replace("    model: mpt-7b\n", ""))
    assert err.field == "training[0].model" and "exactly one of model" in err.message


def test_params_derive_a_shape_and_bad_params_point_at_the_field():
    inp = resolved(SERVICE.replace("model: llama-3.1-70b", "params: 70B"))
    assert inp.services[0].model.name.startswith("derived-70B")
    err = error_of(SERVICE.replace("model: llama-3.1-70b", "params: 10"))
    assert err.field == "inference[0].params" and err.line == 4


def test_hardware_override_keeps_per_option_overrides():
    text = SERVICE.replace("hardware: [h100-sxm]", "hardware:\n  - {name: h200, price_usd: 31000}\n  - h100-sxm")
    inp = resolved(text, hardware=["mi300x", "H200"])
    assert [o.hardware.name for o in inp.options] == ["mi300x", "h200"]
    assert inp.options[1].accelerator_usd.value == 31000 and inp.options[1].accelerator_usd.quality == "given"
    err = error_of(SERVICE, hardware=["h100-pcie"])
    assert err.field == "hardware" and "price_usd" in err.message


def test_node_overhead_and_rack_overrides():
    text = SERVICE.replace("hardware: [h100-sxm]", "hardware:\n  - {name: mi300x, node_overhead_w: 4000, accelerators_per_rack: 16}")
    opt = resolved(text).options[0]
    assert opt.node_power_w.value == 8 * 750 + 4000
    assert opt.accelerators_per_rack.value == 16 and opt.accelerators_per_rack.quality == "given"
    opt = resolved(SERVICE.replace("[h100-sxm]", "[mi300x]")).options[0]
    assert opt.node_power_w.value == pytest.approx(8 * 750 * 1.82)  # no catalog node power: Epoch ratio
    assert "1.82" in opt.node_power_w.source


def test_an_option_names_its_serving_stack_or_gets_the_vendors_default():
    inp = resolved(SERVICE.replace("hardware: [h100-sxm]", "hardware:\n  - name: h100-sxm\n    stack: vllm\n  - name: mi300x\n"))
    stacks = {o.hardware.name: o.serving for o in inp.options}
    assert stacks["h100-sxm"].stack == "vllm-cuda" and stacks["mi300x"].stack == "vllm-rocm"
    assert stacks["mi300x"].calibration.chip_eta_frac != 1.0  # its (chip, stack) term


@pytest.mark.parametrize("stack,words", [
    ("tensorrt-llm", "hardware[0].stack: tensorrt-llm runs on nvidia gpu chips, not on mi300x"),
    ("nonesuch", "hardware[0].stack: unknown serving stack 'nonesuch'"),
])
def test_a_stack_that_does_not_fit_the_option_names_file_line_and_field(stack, words):
    text = SERVICE.replace("hardware: [h100-sxm]", f"hardware:\n  - name: mi300x\n    stack: {stack}\n")
    line = error_of(text).one_line()
    assert "<test>:11:" in line and words in line, line


TRAIN_RAMP = """\
name: t
training:
  - name: ds
    model: llama-2-7b
    tokens: 1T
    accelerators: 256
    seq_len: 4096
    global_batch: 4M
    global_batch_schedule: [{tokens: 100B, global_batch: 256}]
hardware: [h100-sxm]
"""


def test_training_batch_in_tokens_and_a_ramp_up():
    spec, _ = parse(TRAIN_RAMP)
    job = spec.training[0]
    assert job.global_batch == "4M" and job.global_batch_schedule[0].tokens == 100e9
    bad = TRAIN_RAMP.replace("global_batch: 256}", "global_batch: 1.5}")
    with pytest.raises(InputError) as exc:
        parse(bad)
    assert "global_batch" in str(exc.value)


def test_batch_in_tokens_is_held_to_the_batch_limit():
    huge = TRAIN_RAMP.replace("global_batch: 4M", "global_batch: 1e18tok")
    with pytest.raises(InputError) as exc:
        parse(huge)
    assert "global_batch" in str(exc.value)
