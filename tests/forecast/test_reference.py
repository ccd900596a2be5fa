"""The vectorised chain gives the same numbers as a plain per-sample loop over the equations."""

from __future__ import annotations

import numpy as np
import pytest

from dcplan.forecast.chain import run_chain, setup_from
from dcplan.forecast.reference import run_all
from dcplan.forecast.sampling import draw
from dcplan.io.scenario import load_scenario


@pytest.mark.parametrize("name,seed", [("base", 3), ("high", 4), ("low", 5)])
def test_vectorised_equals_loop(name, seed):
    s = load_scenario(name)
    d = draw(s, 12, np.random.default_rng(seed))
    setup = setup_from(s, s.h100e_peak_flops_per_s)
    vec = run_chain(d, setup).metrics
    loop = run_all(d, setup)
    for k, v in loop.items():
        np.testing.assert_allclose(vec[k], v, rtol=1e-10, atol=1e-12, err_msg=k)
