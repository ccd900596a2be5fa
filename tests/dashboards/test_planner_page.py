"""Planner page: callbacks as functions, and one real interaction in the browser."""

import base64

import pytest

from dashboards.pages import planner
from dcplan.errors import InputError


def _sample(name="chat-70b.yaml"):
    return planner.sample_files()[name].read_text()


def test_run_plan_returns_plan_and_figures():
    data, status, summary, cost, capacity, timeline = planner.run_plan(_sample(), [])
    assert data["workload"] == "chat-70b"
    assert {o["hardware"] for o in data["options"]} == {"h100-sxm", "h200", "mi300x"}
    assert "Planned" in str(status)
    for fig in (cost, capacity, timeline):
        assert fig.layout.title.text and len(fig.data) > 0


def test_hardware_override_replaces_options():
    data, *_ = planner.run_plan(_sample(), ["b200"])
    assert [o["hardware"] for o in data["options"]] == ["b200"]


def test_bad_workload_shows_one_line_error_and_no_plan():
    data, status, summary, *_ = planner.run_plan(_sample().replace("tokens_per_day: 1B", "tokens_per_day: -1B"), [])
    assert data is None and summary is None
    assert "tokens_per_day" in str(status) and "workload.yaml:" in str(status)


def test_upload_limits():
    ok = "data:application/x-yaml;base64," + base64.b64encode(b"name: x\n").decode()
    assert planner.decode_upload(ok, "w.yaml") == "name: x\n"
    with pytest.raises(InputError, match="yaml"):
        planner.decode_upload(ok, "w.exe")
    big = "data:;base64," + base64.b64encode(b"x" * (planner.MAX_UPLOAD_BYTES + 1)).decode()
    with pytest.raises(InputError, match="limit"):
        planner.decode_upload(big, "w.yaml")


@pytest.mark.browser
def test_planner_page_plans_another_sample(dash_duo, quiet_app):
    dash_duo.start_server(quiet_app)
    dash_duo.wait_for_page(url=dash_duo.server_url + "/planner")
    dash_duo.wait_for_contains_text("#plan-status", "Planned 'chat-70b'", timeout=60)
    dash_duo.select_dcc_dropdown("#plan-sample", value="train-70b.yaml")
    dash_duo.wait_for_contains_text("#plan-editor", "train-70b", timeout=20)
    dash_duo.find_element("#plan-run").click()
    dash_duo.wait_for_contains_text("#plan-status", "Planned 'train-70b'", timeout=60)
    assert dash_duo.get_logs() == []


def test_option_without_published_power_is_listed_with_why():
    data, status, summary, *_ = planner.run_plan(_sample(), ["h100-sxm", "tpu-v5p"])
    assert [o["hardware"] for o in data["options"]] == ["h100-sxm"]
    assert [e["hardware"] for e in data["excluded"]] == ["tpu-v5p"]
    text = str(summary)
    assert "Options left out of the plan" in text and "tpu-v5p has no published TDP or node power" in text
    assert "plan-excluded" in text
