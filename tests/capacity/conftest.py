"""Shared fixtures of the capacity tests: plans of the shipped samples (computed once) and a
helper that plans a workload written inline."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcplan.capacity.loaders import load_plan_inputs, parse_workload_text, read_cost_defaults, resolve
from dcplan.capacity.plan import plan_capacity

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "workloads"


def plan_text(text: str, **kwargs):
    """Plan a workload given as YAML text (file name '<test>')."""
    spec, origin = parse_workload_text(text, "<test>")
    return plan_capacity(resolve(spec, origin, read_cost_defaults(), **kwargs))


@pytest.fixture(scope="session")
def sample_plans():
    """The three shipped sample workloads, planned once for the whole session."""
    return {name: plan_capacity(load_plan_inputs(SAMPLES / f"{name}.yaml")) for name in ("chat-70b", "train-70b", "portfolio")}
