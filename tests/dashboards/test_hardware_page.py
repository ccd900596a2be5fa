"""Hardware page: figure builders as functions, and the page in a real browser."""

import pytest

from dashboards.pages import hardware


def test_catalog_rows_cover_the_catalog():
    rows = hardware.catalog_rows()
    names = {r["name"] for r in rows}
    assert {"h100-sxm", "mi300x", "tpu-v5p"} <= names
    h100 = next(r for r in rows if r["name"] == "h100-sxm")
    assert h100["bf16_tflops"] == pytest.approx(989.4)
    assert h100["quality"] in ("A", "B", "C")


def test_bars_figure_has_title_axes_and_values():
    fig = hardware.bars_figure(("h100-sxm", "h200"), "bandwidth")
    assert fig.layout.title.text and fig.layout.yaxis.title.text
    assert list(fig.data[0].y) == pytest.approx([3.35, 4.8])


def test_catalog_rows_name_the_shipped_measured_profile():
    rows = {r["name"]: r for r in hardware.catalog_rows()}
    assert rows["h200"]["measured"] == "gpu-nvidia-h200-standard"
    assert rows["h100-sxm"]["measured"] is None


def test_roofline_ridge_points():
    fig = hardware.roofline_figure(("h100-sxm",), "bf16")
    assert "ridge 295" in fig.data[0].name  # 989.4 TFLOP/s / 3.35 TB/s


@pytest.mark.browser
def test_hardware_page_loads_and_metric_changes_chart(dash_duo, quiet_app):
    dash_duo.start_server(quiet_app)
    dash_duo.wait_for_page(url=dash_duo.server_url + "/hardware")
    dash_duo.wait_for_element("#hw-bars .main-svg", timeout=20)
    dash_duo.wait_for_text_to_equal("#hw-bars .gtitle", "Dense BF16/FP16 peak [TFLOP/s]", timeout=20)
    # one real interaction: choose the bandwidth metric
    radios = dash_duo.find_elements("#hw-metric input")
    radios[3].click()
    dash_duo.wait_for_text_to_equal("#hw-bars .gtitle", "Memory bandwidth [TB/s]", timeout=20)
    # the shipped measured H200 profile is named beside its catalog entry and described below the table
    rows = {r.find_elements("css selector", "td")[0].text: [td.text for td in r.find_elements("css selector", "td")]
            for r in dash_duo.find_elements("#hw-table tbody tr")}
    assert rows["h200"][9] == "gpu-nvidia-h200-standard" and rows["h100-sxm"][9] == "-"
    listed = dash_duo.find_element("#hw-measured-list").text
    assert "h200: gpu-nvidia-h200-standard" in listed and "use its fitted efficiencies by default" in listed
    assert dash_duo.get_logs() == []
