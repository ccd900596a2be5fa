"""Choose the serving stack, and so the serving calibration, an estimate runs on.

:func:`select_stack` is the one place that decides it: the stack a hardware option names, or
the stack that is the default for the chip's vendor; when no stack runs on the chip the
parameters pooled over every published row stand in, with a warning that the plan, the ranking
and the report show. The result is a :class:`~dcplan.specs.StackChoice`: the merged calibration
(shipped defaults, the chip's overrides, the stack's fit) and the data it rests on.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from dcplan.errors import InputError
from dcplan.specs import Calibration, HardwareSpec, StackChoice, StackSpec

#: Name of the pseudo-stack whose parameters are fitted on every row together (the fallback).
POOLED = "pooled"


def merge_calibration(base: Calibration, overrides: Mapping[str, Any], *, name: str, stack: str | None,
                      hardware: str | None, source: str) -> Calibration:
    """``base`` with ``overrides`` (Calibration fields; nested curves as mappings) applied."""
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        current = getattr(base, key)
        if isinstance(value, Mapping) and dataclasses.is_dataclass(current):
            changes[key] = dataclasses.replace(current, **value)
        else:
            changes[key] = value
    sources = dict(base.sources)
    for key in overrides:
        sources[key] = source
    return dataclasses.replace(base, **changes, name=name, stack=stack, hardware=hardware or base.hardware, sources=sources)


def _resolve(requested: str, stacks: Mapping[str, StackSpec]) -> StackSpec:
    key = requested.strip().lower()
    for spec in stacks.values():
        if key == spec.name or key in spec.aliases:
            return spec
    names = ", ".join(sorted(n for n in stacks if n != POOLED))
    raise InputError("stack", f"unknown serving stack {requested!r}; use one of {names} (see `dcplan stacks list`)")


def check_precision(stack: str | None, precisions: tuple[str, ...], precision: str) -> None:
    """InputError when the stack does not serve ``precision``."""
    if stack and precisions and precision not in precisions:
        raise InputError("precision", f"{stack} does not serve {precision} (it serves {', '.join(precisions)})")


def stacks_for(hw: HardwareSpec, stacks: Mapping[str, StackSpec]) -> list[StackSpec]:
    """The stacks that run on ``hw``."""
    return [s for s in stacks.values() if s.name != POOLED and s.runs_on(hw)]


def _fit_source(spec: StackSpec) -> str:
    fit = spec.fit or {}
    rows = fit.get("rows", 0)
    command = fit.get("command", "python -m dcplan.validation --fit-serving --write")
    if not rows:
        return f"data/stacks/{spec.name}.yaml: engine defaults only (no fitted rows)"
    return f"fit: {command}, on {rows} published rows of data/validation/serving_benchmarks.yaml (data/stacks/{spec.name}.yaml)"


def select_stack(
    hw: HardwareSpec,
    *,
    precision: str | None,
    requested: str | None,
    stacks: Mapping[str, StackSpec],
    base: Calibration,
) -> StackChoice:
    """The serving stack for ``hw``: ``requested`` (an InputError if it does not run on the chip)
    or the vendor's default, else the pooled fallback with a warning.

    ``base`` is the chip's shipped defaults (``default_calibration``), which the stacks' fits
    were made over: the stack's fitted values, then its per-chip terms, are merged onto it.
    """
    spec: StackSpec | None
    if requested:
        spec = _resolve(requested, stacks)
        if spec.name == POOLED:
            spec = None
        elif not spec.runs_on(hw):
            fits = ", ".join(s.name for s in stacks_for(hw, stacks)) or "none"
            raise InputError("stack", f"{spec.name} runs on {'/'.join(spec.vendors)} {'/'.join(spec.kinds)} chips, not on "
                                      f"{hw.name} ({hw.vendor} {hw.kind}); stacks for {hw.name}: {fits}")
    else:
        spec = next((s for s in stacks_for(hw, stacks) if hw.vendor in s.default_for), None)
    if spec is not None and precision is not None:
        check_precision(spec.name, spec.precisions, precision)
    fallback = spec is None
    used = spec if spec is not None else stacks.get(POOLED)
    if used is None:
        raise InputError("stack", f"no serving stack runs on {hw.name} and data/stacks has no {POOLED!r} parameters to fall back on")
    fit = used.fit or {}
    chips = dict(fit.get("chips", {}))
    rows_on_chip = int(chips.get(hw.name, 0))
    cal = merge_calibration(base, used.calibration, name=f"stack:{used.name}", stack=used.name, hardware=hw.name,
                            source=_fit_source(used))
    if hw.name in used.chips:
        cal = merge_calibration(cal, used.chips[hw.name], name=f"stack:{used.name}@{hw.name}", stack=used.name,
                                hardware=hw.name, source=_fit_source(used) + f", {hw.name}'s own term")
    warning = None
    if fallback:
        runs_on = ", ".join(s.name for s in stacks_for(hw, stacks)) or "none"
        warning = (f"no published serving result fits a stack for {hw.name} ({hw.vendor} {hw.kind}; stacks that run on it: "
                   f"{runs_on}): serving parameters pooled over {fit.get('rows', 0)} rows of other chips and stacks")
    elif rows_on_chip == 0:
        warning = (f"no published {used.display_name} result on {hw.name}: its serving parameters were fitted on "
                   f"{', '.join(sorted(chips)) or 'engine defaults only'}")
    return StackChoice(
        chip=hw.name, precision=precision or "", stack=None if fallback else used.name, display_name=used.display_name,
        engine=used.engine, version=used.versions[-1] if used.versions else "", calibration=cal, memory_of=used.memory_of,
        precisions=used.precisions,
        max_batch=used.max_batch, kv_reserve=used.kv_reserve, prefill_chunk_tokens=used.prefill_chunk_tokens, rows=int(fit.get("rows", 0)),
        rows_on_chip=rows_on_chip, chips=tuple(sorted(chips)), held_out=dict(fit.get("held_out", {})), fallback=fallback,
        warning=warning, source=_fit_source(used),
    )
