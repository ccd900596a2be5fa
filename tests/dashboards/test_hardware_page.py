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
    dash_duo.wait_for_text_to_equal("#hw-bars .gtitle", "Dense BF16/FP16 peak by accelerator", timeout=20)
    # one real interaction: choose the bandwidth metric
    radios = dash_duo.find_elements("#hw-metric input")
    radios[3].click()
    dash_duo.wait_for_text_to_equal("#hw-bars .gtitle", "Memory bandwidth by accelerator", timeout=20)
    # the current chips are in the catalog table, an unknown TDP shown as '-', not 0
    rows = {r.find_elements("css selector", "td")[0].text: [td.text for td in r.find_elements("css selector", "td")]
            for r in dash_duo.find_elements("#hw-table tbody tr")}
    assert set(CURRENT) <= set(rows)
    assert rows["tpu-v7"][7] == "-" and rows["gb300"][7] == "1400"
    # the shipped measured H200 profile is named beside its catalog entry and described below the table
    assert rows["h200"][9] == "gpu-nvidia-h200-standard" and rows["h100-sxm"][9] == "-"
    listed = dash_duo.find_element("#hw-measured-list").text
    assert "h200: gpu-nvidia-h200-standard" in listed and "use its fitted efficiencies by default" in listed
    assert dash_duo.get_logs() == []


CURRENT = ("b300", "gb300", "h20", "mi355x", "tpu-v7", "trainium2", "ascend-910b", "ascend-910c")


def test_current_chips_with_unknown_figures_show_gaps_not_zeros():
    rows = {r["name"]: r for r in hardware.catalog_rows()}
    assert set(CURRENT) <= set(rows)
    assert rows["ascend-910c"]["bf16_tflops"] == pytest.approx(752)
    assert rows["ascend-910b"]["fp8_tflops"] is None  # FP8 does not exist on the 910B: unknown, not 0
    assert rows["tpu-v7"]["tdp_w"] is None and rows["trainium2"]["cloud_usd_per_hour"] is None
    assert all(r["bf16_tflops"] is None or r["bf16_tflops"] > 0 for r in rows.values())
    assert rows["h20"]["quality"] == "C" and rows["trainium2"]["quality"] == "A"


@pytest.mark.parametrize("metric", ["bf16", "fp8", "hbm", "bandwidth", "tdp", "flops_per_w", "usd_per_pflop_hour"])
def test_bars_over_current_chips_leave_unknowns_as_gaps(metric):
    fig = hardware.bars_figure(CURRENT, metric)
    values = dict(zip(fig.data[0].x, fig.data[0].y, strict=True))
    assert set(values) == set(CURRENT)
    assert all(v is None or v > 0 for v in values.values())
    if metric == "tdp":
        assert values["tpu-v7"] is None and values["gb300"] == pytest.approx(1400)
    if metric == "fp8":
        assert values["ascend-910b"] is None and values["tpu-v7"] == pytest.approx(4614)


def test_roofline_fp32_keeps_chips_that_publish_only_16_bit_peaks():
    fig = hardware.roofline_figure(("tpu-v7", "h20"), "fp32")
    names = [t.name for t in fig.data if t.name]
    assert any(n.startswith("tpu-v7") and "bf16: no fp32 published" in n for n in names)
    assert any(n.startswith("h20 (ridge 11 FLOP/B)") for n in names)  # 44 TFLOP/s / 4 TB/s


def test_roofline_of_current_chips():
    fig = hardware.roofline_figure(CURRENT, "fp8")
    names = [t.name for t in fig.data if t.name]
    # the Ascend parts publish no FP8 peak: the roofline falls back to their 16-bit line, labelled
    assert any(n.startswith("tpu-v7 (ridge 632") for n in names)  # 4614 TFLOP/s / 7.3 TB/s
    assert sum(1 for n in names if "ridge" in n) == len(CURRENT)
    assert any(n.startswith("ascend-910b (ridge") and "bf16: no fp8 published" in n for n in names)


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
