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


def test_roofline_ridge_points():
    fig = hardware.roofline_figure(("h100-sxm",), "bf16")
    assert "ridge 295" in fig.data[0].name  # 989.4 TFLOP/s / 3.35 TB/s


@pytest.mark.browser
def test_hardware_page_loads_and_metric_changes_chart(dash_duo, quiet_app):
    dash_duo.start_server(quiet_app)
    dash_duo.wait_for_page(url=dash_duo.server_url + "/hardware")
    dash_duo.wait_for_element("#hw-bars .main-svg", timeout=20)
    dash_duo.wait_for_text_to_equal("#hw-bars .gtitle", "Dense BF16/FP16 peak by accelerator", timeout=20)
    # one real interaction: choose the bandwidth metric
    radios = dash_duo.find_elements("#hw-metric input")
    radios[3].click()
    dash_duo.wait_for_text_to_equal("#hw-bars .gtitle", "Memory bandwidth by accelerator", timeout=20)
    assert dash_duo.get_logs() == []


def test_unknown_values_are_missing_never_zero():
    from dcplan.figures.hardware import catalog_bars
    from dcplan.io.catalog import get_hardware

    chips = [get_hardware(n) for n in ("h100-sxm", "tpu-v4")]  # no published cloud price for TPU v4 in the catalog
    assert chips[1].cloud_usd_per_hour is None
    fig = catalog_bars(chips, "usd_per_pflop_hour")
    bars = fig.data[0]
    assert bars.y[0] > 0 and bars.y[1] is None  # a gap, not a zero-height bar
    assert "unknown" in fig.data[1].text
    row = next(r for r in hardware.catalog_rows() if r["name"] == "tpu-v4")
    assert row["tdp_w"] is None and row["cloud_usd_per_hour"] is None and row["fp8_tflops"] is None
