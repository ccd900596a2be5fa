"""Shared fixtures: the shipped scenarios, loaded once."""

from __future__ import annotations

import pytest

from dcplan.io.scenario import load_scenario


@pytest.fixture(scope="session")
def base():
    return load_scenario("base")
