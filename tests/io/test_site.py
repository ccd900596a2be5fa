"""One source of truth for the site defaults: data/costs/defaults.yaml, read by estimates and the plan alike."""

import pytest

from dcplan.capacity.loaders import read_cost_defaults
from dcplan.io.site import SITE_KEYS, default_site
from dcplan.specs import SiteParams


def test_site_params_hold_no_numbers_of_their_own():
    with pytest.raises(TypeError):
        SiteParams()  # pue, price, carbon and server power must come from somewhere sourced


def test_default_site_is_the_cost_defaults_file():
    site, costs = default_site(), read_cost_defaults()
    for key in SITE_KEYS:
        assert getattr(site, key) == costs.get(key).value
        assert costs.get(key).source in site.sources[key] and "data/costs/defaults.yaml" in site.sources[key]


def test_estimate_and_plan_cite_the_same_entries():
    from dcplan import estimate_training, get_hardware, get_model
    from dcplan.capacity.loaders import load_plan_inputs
    from dcplan.capacity.plan import plan_capacity
    from dcplan.io.catalog import default_calibration

    est = estimate_training(get_model("llama-3.1-8b"), get_hardware("h100-sxm"), tokens=1e12, n_accelerators=64,
                            calibration=default_calibration("h100-sxm"))
    pue = next(a for a in est.assumptions if a.name == "pue")
    assert pue.value == read_cost_defaults().get("pue").value and "defaults.yaml" in pue.source
    plan = plan_capacity(load_plan_inputs("chat-70b"))  # a sample that keeps the default site
    assert next(a for a in plan.assumptions if a.name == "pue").value == pue.value


def test_a_user_data_folder_changes_the_defaults(tmp_path, monkeypatch):
    import shutil

    from dcplan.io.resources import data_dir

    mine = tmp_path / "data"
    shutil.copytree(data_dir(), mine)
    p = mine / "costs" / "defaults.yaml"
    p.write_text(p.read_text().replace("    value: 1.25\n", "    value: 1.4\n", 1))
    monkeypatch.setenv("DCPLAN_DATA", str(mine))
    assert default_site().pue == 1.4
