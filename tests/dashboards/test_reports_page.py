"""Reports page: the same report code as the CLI, downloaded from the browser."""

import json

import pytest

from dashboards.pages import reports
from dashboards.pages.planner import sample_files


@pytest.mark.slow
def test_build_json_for_a_planner_workload():
    text = sample_files()["chat-70b.yaml"].read_text()
    name, data = reports.build("json", "low", text)
    doc = json.loads(data)
    assert name == "dcplan-report.json"
    assert doc["plan"]["workload"] == "chat-70b"
    assert doc["forecast"]["scenario"]["name"] == "low"


def test_bad_workload_text_is_an_input_error():
    from dcplan.errors import InputError

    with pytest.raises(InputError):
        reports.build("md", "base", "name: x\ninference: 3\n")


@pytest.mark.browser
@pytest.mark.slow
def test_reports_page_builds_a_markdown_report(dash_duo, quiet_app):
    dash_duo.start_server(quiet_app)
    dash_duo.wait_for_page(url=dash_duo.server_url + "/reports")
    dash_duo.find_elements("#rep-format input")[3].click()  # Markdown
    dash_duo.find_element("#rep-build").click()
    dash_duo.wait_for_contains_text("#rep-status", "Built dcplan-report.md", timeout=120)
    assert dash_duo.get_logs() == []
