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


# --- Hugging Face config.json uploads ---------------------------------------------------------


def _config_upload(name="my-qwen.json"):
    import json

    from dcplan.io.catalog import model_catalog, model_config

    cfg, _ = model_config(model_catalog()["qwen2.5-0.5b"])
    return "data:application/json;base64," + base64.b64encode(json.dumps(cfg).encode()).decode(), name


def test_uploaded_config_is_a_model_the_workload_names():
    contents, name = _config_upload()
    models, status = planner.add_model_uploads(None, [contents], [name])
    assert set(models) == {"my-qwen"} and "model: my-qwen" in str(status)
    data, status, *_ = planner.run_plan(_sample().replace("model: llama-3.1-70b", "model: my-qwen"), [], models)
    assert data is not None, str(status)
    assert data["options"][0]["services"][0]["model"] == "my-qwen"


def test_bad_config_upload_is_one_line_and_keeps_what_was_loaded():
    contents, name = _config_upload()
    models, _ = planner.add_model_uploads(None, [contents], [name])
    bad = "data:application/json;base64," + base64.b64encode(b'{"model_type": "mamba"}').decode()
    kept, status = planner.add_model_uploads(models, [bad], ["odd.json"])
    assert kept == models
    assert "odd.json: model_type: dcplan cannot read model_type 'mamba'" in str(status)


def test_a_path_in_a_browser_workload_is_refused(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{}")
    data, status, *_ = planner.run_plan(_sample().replace("model: llama-3.1-70b", f"model: {path}"), [])
    assert data is None and "a path cannot be read here" in str(status)


@pytest.mark.browser
def test_planner_uploads_a_config_and_plans_with_it(dash_duo, quiet_app, tmp_path):
    import json

    from dcplan.io.catalog import model_catalog, model_config

    cfg, _ = model_config(model_catalog()["qwen2.5-0.5b"])
    path = tmp_path / "my-qwen.json"
    path.write_text(json.dumps(cfg))
    dash_duo.start_server(quiet_app)
    dash_duo.wait_for_page(url=dash_duo.server_url + "/planner")
    dash_duo.wait_for_contains_text("#plan-status", "Planned 'chat-70b'", timeout=60)
    dash_duo.find_element("#plan-model-upload input[type=file]").send_keys(str(path))
    dash_duo.wait_for_contains_text("#plan-model-status", "Use in the workload as model: my-qwen", timeout=30)
    editor = dash_duo.find_element("#plan-editor")
    text = editor.get_attribute("value").replace("model: llama-3.1-70b", "model: my-qwen")
    dash_duo.driver.execute_script("arguments[0].value = '';", editor)
    editor.send_keys(text)
    dash_duo.find_element("#plan-run").click()
    dash_duo.wait_for_contains_text("#plan-status", "Planned 'chat-70b'", timeout=60)
    assert dash_duo.get_logs() == []


def test_report_of_a_planned_workload_with_an_uploaded_model():
    # the planner's store carries the uploaded configs, so the Reports page can rebuild the plan
    from dcplan.report.pipeline import gather

    contents, name = _config_upload()
    models, _ = planner.add_model_uploads(None, [contents], [name])
    text = _sample().replace("model: llama-3.1-70b", "model: my-qwen")
    inputs = gather(workload_text=text, workload_models=models, samples=200)
    assert inputs.plan.options[0].services[0].model == "my-qwen"


def test_option_without_published_power_is_listed_with_why():
    data, status, summary, *_ = planner.run_plan(_sample(), ["h100-sxm", "tpu-v5p"])
    assert [o["hardware"] for o in data["options"]] == ["h100-sxm"]
    assert [e["hardware"] for e in data["excluded"]] == ["tpu-v5p"]
    text = str(summary)
    assert "Options left out of the plan" in text and "tpu-v5p has no published TDP or node power" in text
    assert "plan-excluded" in text
