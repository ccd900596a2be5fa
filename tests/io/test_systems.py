"""The systems in data/systems (issue 19: the current chips' servers, racks and pods).

``data/published_systems.csv`` restates each published node or fabric figure as its document
gives it (bidirectional per GPU, per rack, per 8-GPU board, in Gb/s...) with the arithmetic that
turns it into the per-accelerator, per-direction value a system stores, and a key the system's
own source for that field must name. A figure typed wrong, a bidirectional headline stored as
per-direction, or a source swapped for another fails here.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from dcplan.errors import InputError
from dcplan.io.catalog import get_hardware, hardware_catalog, normalise, system_catalog
from dcplan.specs import SystemSpec

TABLE = Path(__file__).parent / "data" / "published_systems.csv"
# bytes/s for bandwidths (1 Gb/s = 0.125e9 B/s), W for power, 1 for counts
UNITS = {"GB/s": 1e9, "TB/s": 1e12, "Gb/s": 0.125e9, "Tb/s": 0.125e12, "kW": 1e3, "count": 1.0}
NEW = ("gb300-nvl72", "dgx-b300", "hgx-h20", "mi355x-platform", "tpu7x-pod", "tpu7x-cube", "aws-trn2",
       "aws-trn2-ultraserver", "cloudmatrix-384", "atlas-800t-a2")
FIGURES = ("accelerators_per_node", "scale_up_domain", "scale_up_bytes_per_s", "scale_out_bytes_per_s",
           "scale_out_alpha_s", "scale_out_bw_frac", "node_power_w", "cloud_usd_per_hour")
# the chip field each system field sets (SystemSpec.apply)
CHIP_FIELD = {"scale_up_bytes_per_s": "intra_node_bytes_per_s", "scale_out_bytes_per_s": "inter_node_bytes_per_s"}


def rows() -> list[dict[str, str]]:
    with TABLE.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def stored_value(row: dict[str, str]) -> float:
    return float(row["published"]) * UNITS[row["unit"]] * float(row["multiply"]) / float(row["divide"])


def note_for(system: SystemSpec, field: str):
    notes = [n for n in system.sources if field in n.fields]
    return notes[0] if len(notes) == 1 else None


@pytest.mark.parametrize("row", rows(), ids=lambda r: f"{r['system']}-{r['field']}")
def test_system_figure_matches_its_published_source(row):
    system = system_catalog()[row["system"]]
    value = getattr(system, row["field"])
    assert value is not None, f"{row['system']} does not store {row['field']}"
    assert value == pytest.approx(stored_value(row), rel=float(row["rel_tol"]) or 1e-12), row["note"]
    note = note_for(system, row["field"])
    assert note is not None and row["source_key"] in note.source, f"{row['system']}.{row['field']}: source does not name {row['source_key']!r}"


@pytest.mark.parametrize("name", NEW)
def test_every_stored_figure_of_a_new_system_has_a_published_row(name):
    checked = {r["field"] for r in rows() if r["system"] == name}
    stored = {f for f in FIGURES if getattr(system_catalog()[name], f) is not None}
    # the UltraServer's scale-up figure is derived from two published links: checked below
    assert stored - checked <= ({"scale_up_bytes_per_s"} if name == "aws-trn2-ultraserver" else set())
    # counts the source states directly (domain = node) are covered by the node row
    assert checked <= stored


def test_table_names_catalog_systems_and_units():
    for r in rows():
        assert r["system"] in NEW and r["unit"] in UNITS and r["field"] in FIGURES, r


@pytest.mark.parametrize("name", sorted(system_catalog()))
def test_every_system_loads_sourced_and_graded(name):
    system = system_catalog()[name]
    assert system.chip in hardware_catalog()
    assert system.sources and all(n.quality in ("A", "B", "C") for n in system.sources)
    named = [f for n in system.sources for f in n.fields]
    assert len(named) == len(set(named)), f"{name}: a field is listed in two sources"
    stored = {f for f in FIGURES if getattr(system, f) is not None}
    assert stored <= set(named), f"{name}: {sorted(stored - set(named))} stored without a source"
    assert set(named) <= set(FIGURES), f"{name}: a source names a field the system does not have"


@pytest.mark.parametrize("name", sorted(system_catalog()))
def test_units_are_per_accelerator_per_direction(name):
    s = system_catalog()[name]
    # scale-up per direction per accelerator: 25 GB/s (PCIe-class) to 900 GB/s (NVLink 5);
    # a bidirectional NVLink 5 headline (1.8 TB/s) or a per-rack total falls outside
    if s.scale_up_bytes_per_s is not None:
        assert 25e9 <= s.scale_up_bytes_per_s <= 950e9, s.scale_up_bytes_per_s
    # scale-out per direction per accelerator: 10 Gb/s to one 800 Gb/s NIC (100 GB/s);
    # a per-node total (3.2 Tb/s = 400 GB/s) or a figure left in bits falls outside
    if s.scale_out_bytes_per_s is not None:
        assert 1.25e9 <= s.scale_out_bytes_per_s <= 100e9, s.scale_out_bytes_per_s
        assert s.scale_out_bytes_per_s < (s.scale_up_bytes_per_s or float("inf"))
    if s.node_power_w is not None:
        per_accelerator = s.node_power_w / s.accelerators_per_node
        assert 300 <= per_accelerator <= 2500, per_accelerator


@pytest.mark.parametrize("name", sorted(system_catalog()))
def test_scale_up_domain_is_whole_nodes(name):
    s = get_hardware(name)
    assert s.accelerators_per_node and s.scale_up_domain
    assert s.scale_up_domain % s.accelerators_per_node == 0, f"{name}: {s.scale_up_domain} / {s.accelerators_per_node}"


def test_ultraserver_scale_up_is_the_hierarchical_all_reduce_of_its_two_links():
    # trn2-arch.rst: 1,024 GB/s per device inside an instance, 256 GB/s between the four
    # instances (directions not stated, both halved). Reduce-scatter + all-gather over 16 chips,
    # all-reduce of the 1/16 shards over the 4-instance ring; the flat 64-rank ring that takes as
    # long runs at the stored rate.
    intra, inter = 1024e9 / 2, 256e9 / 2
    per_byte = 2 * (15 / 16) / intra + 2 * (3 / 4) * (1 / 16) / inter
    flat = 2 * (63 / 64) / per_byte
    s = system_catalog()["aws-trn2-ultraserver"]
    assert s.scale_up_bytes_per_s == pytest.approx(flat, rel=1e-3)
    assert inter < s.scale_up_bytes_per_s < intra
    assert "arXiv:1807.11205" in note_for(s, "scale_up_bytes_per_s").source


@pytest.mark.parametrize("name", sorted(system_catalog()))
def test_every_system_name_and_alias_reaches_the_system(name):
    # a system name that is also a chip alias would be shadowed by the chip (its default
    # system), and --hardware NAME would silently not mean this system
    system = system_catalog()[name]
    for key in (name, *system.aliases):
        hw = get_hardware(key)
        assert (hw.name, hw.system) == (system.chip, name), f"{key!r} resolves to {hw.name} / {hw.system}"


def test_no_alias_names_two_systems():
    seen: dict[str, str] = {}
    for name, s in system_catalog().items():
        for a in {normalise(name), *(normalise(x) for x in s.aliases)}:
            assert seen.setdefault(a, name) == name, f"alias {a!r} in {seen[a]} and {name}"


@pytest.mark.parametrize("system,chip", [("gb300-nvl72", "gb300"), ("dgx-b300", "b300"), ("hgx-h20", "h20"),
                                         ("mi355x-platform", "mi355x"), ("tpu7x-pod", "tpu-v7"), ("aws-trn2", "trainium2"),
                                         ("cloudmatrix-384", "ascend-910c"), ("atlas-800t-a2", "ascend-910b")])
def test_chip_default_system_matches_its_system(system, chip):
    # a bare chip name means its default system: both files must say the same thing
    bare, placed = hardware_catalog()[chip], get_hardware(system)
    for f in ("accelerators_per_node", "scale_up_domain", "intra_node_bytes_per_s", "inter_node_bytes_per_s", "node_power_w"):
        assert getattr(bare, f) == getattr(placed, f), f"{chip}.{f}: {getattr(bare, f)} vs {system}: {getattr(placed, f)}"


@pytest.mark.parametrize("name", NEW)
def test_system_keeps_the_chip_sources_it_does_not_replace(name):
    hw = get_hardware(name)
    # the chip's peaks stay sourced when the system replaces its fabric figures
    assert hw.source_of("peak_flops_per_s") is not None
    assert hw.source_of("peak_flops_per_s").source == hardware_catalog()[hw.name].source_of("peak_flops_per_s").source
    s = system_catalog()[name]
    if s.scale_up_bytes_per_s is not None:
        assert hw.source_of("intra_node_bytes_per_s").source == note_for(s, "scale_up_bytes_per_s").source


def test_unpublished_scale_out_refuses_a_multi_node_layout_in_one_line():
    from dcplan.estimate import estimate_training
    from dcplan.io.catalog import default_calibration, get_model

    hw = get_hardware("hgx-h20")
    assert hw.inter_node_bytes_per_s is None
    with pytest.raises(InputError, match="no scale-out bandwidth is published for h20 in hgx-h20; use at most 8 accelerators"):
        estimate_training(get_model("llama-2-7b"), hw, tokens=1e9, n_accelerators=16, seq_len=2048, global_batch=64,
                          layout=dict(tp=1, pp=1, dp=16, ep=1, cp=1, zero=1, recompute="none", micro_batch=1),
                          calibration=default_calibration(hw.name))


def test_hardware_list_shows_the_systems(run_cli):
    r = run_cli("hardware", "list")
    assert r.returncode == 0, r.stderr
    for name in NEW:
        assert name in r.stdout
    r = run_cli("hardware", "show", "cloudmatrix-384")
    assert r.returncode == 0, r.stderr
    assert "arXiv:2506.12708" in r.stdout.replace("\n", "") and "384" in r.stdout


@pytest.mark.parametrize("name", NEW)
def test_estimate_train_runs_on_every_new_system(run_cli, name):
    # one node of each (a whole number of nodes), so every system runs, including those
    # without a published scale-out network
    gpus = str(system_catalog()[name].accelerators_per_node)
    r = run_cli("estimate", "train", "--model", "tinyllama-1.1b", "--tokens", "10B", "--hardware", name, "--gpus", gpus,
                "--seq-len", "2048", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["system"] == name and d["hardware"] == system_catalog()[name].chip
    assert d["tokens_per_s"] > 0 and 0 < d["mfu_frac"] < 1
    if get_hardware(name).tdp_w is None and get_hardware(name).node_power_w is None:
        assert d["power_unknown_reason"]  # power unknown, said why, not guessed


@pytest.mark.parametrize("name", ["hgx-h20", "atlas-800t-a2"])
def test_estimate_beyond_one_node_without_scale_out_is_refused_in_one_line(run_cli, name):
    r = run_cli("estimate", "train", "--model", "tinyllama-1.1b", "--tokens", "10B", "--hardware", name, "--gpus", "16")
    assert r.returncode == 2 and r.stdout == "", r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert "no scale-out bandwidth is published" in lines[0]
