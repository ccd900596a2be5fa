"""Check dcplan's disaggregated prefill/decode sizing against published wide-EP deployments.

Rows: data/validation/serving_disagg_checks.yaml (DeepSeek's inference system overview, SGLang's
large-scale expert-parallel deployment). Each phase is one instance of the published layout,
predicted with :func:`dcplan.model.replica.prefill_instance` or
:func:`~dcplan.model.replica.decode_instance` and the stack's shipped calibration, and compared
per node of 8 accelerators. Nothing is fitted on these rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from dcplan.errors import InputError

PHASES = ("prefill", "decode")
#: Accelerators per node in the published per-node rates (H800 and H100 HGX nodes).
GPUS_PER_NODE = 8


@dataclass(frozen=True, kw_only=True)
class DisaggCheck:
    id: str
    phase: str
    model: str
    hardware: str
    stack: str
    layout: Mapping[str, Any] = field(default_factory=dict)
    precision: str
    kv_precision: str
    input_len: int
    output_len: int
    tpot_limit_s: float | None = None
    tpot_statistic: str = "p99"
    """What the TPOT limit bounds: ``p99`` (a tail target; the stack's latency_tail_frac applies)
    or ``mean`` (a published average speed; the mean step time is held to it)."""
    published_tokens_per_s_per_node: float
    source: str
    quality: str
    notes: str = ""

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise InputError("phase", f"must be one of {', '.join(PHASES)}, got {self.phase!r}")
        if self.tpot_statistic not in ("p99", "mean"):
            raise InputError("tpot_statistic", f"must be p99 or mean, got {self.tpot_statistic!r}")


def predict_check(check: DisaggCheck) -> dict[str, Any]:
    """The check's row of ``dcplan validate``: published and predicted tokens/s per node."""
    from dcplan.calibrate.stacks import select_stack
    from dcplan.inference import engine_setup
    from dcplan.io.catalog import default_calibration, get_hardware, get_model, stack_catalog
    from dcplan.model import replica as R
    from dcplan.model.params import count_params
    from dcplan.model.serving import LengthMix, ServingLayout, check_layout

    out: dict[str, Any] = {"id": check.id, "phase": check.phase, "published_tokens_per_s_per_node": check.published_tokens_per_s_per_node,
                           "source": check.source, "quality": check.quality}
    try:
        m, hw = get_model(check.model), get_hardware(check.hardware)
        choice = select_stack(hw, precision=check.precision, requested=check.stack, stacks=stack_catalog(), base=default_calibration(hw.name))
        lay = ServingLayout(**dict(check.layout))
        check_layout(m, lay)
        fn = R.prefill_instance if check.phase == "prefill" else R.decode_instance
        kw = {} if check.phase == "prefill" else {"tpot_slo_s": check.tpot_limit_s}
        cal = choice.calibration
        if check.tpot_statistic == "mean":
            cal = dataclasses.replace(cal, latency_tail_frac=1.0)
        inst, why = fn(m, count_params(m), hw, cal, engine_setup(choice, cal), lay,
                       LengthMix.fixed(check.input_len, check.output_len), precision=check.precision,
                       kv_precision=check.kv_precision, **kw)
    except InputError as exc:
        return {**out, "predicted_tokens_per_s_per_node": None, "ratio": None, "error": exc.one_line()}
    if inst is None:
        return {**out, "predicted_tokens_per_s_per_node": None, "ratio": None, "error": why}
    per_node = inst.tokens_per_s / inst.accelerators * GPUS_PER_NODE
    return {**out, "predicted_tokens_per_s_per_node": per_node, "ratio": per_node / check.published_tokens_per_s_per_node,
            "batch": inst.batch, "latency_s": inst.latency_s, "binding_limit": inst.binding_limit, "error": None}
