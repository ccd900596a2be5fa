"""The current-chip catalog entries (issue 19): every stored peak against its published source.

``data/published_peaks.csv`` restates each published figure as its document gives it (per rack,
per 8-GPU board, with 2:4 sparsity, per die...) with the arithmetic that turns it into a dense
per-accelerator peak, and a key that the YAML's source text must name. A typo in a YAML peak, a
peak with no published figure behind it, or a source swapped for another fails here.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from dcplan.errors import InputError
from dcplan.io.catalog import get_hardware, hardware_catalog, normalise

TABLE = Path(__file__).parent / "data" / "published_peaks.csv"
UNITS = {"FLOP": 1.0, "TFLOPS": 1e12, "PFLOPS": 1e15, "TOPS": 1e12, "POPS": 1e15}
CURRENT = ("b300", "gb300", "h20", "mi355x", "tpu-v7", "trainium2", "ascend-910b", "ascend-910c")


def rows() -> list[dict[str, str]]:
    with TABLE.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def dense(row: dict[str, str]) -> float:
    return float(row["published"]) * UNITS[row["unit"]] * float(row["multiply"]) / float(row["divide"])


@pytest.mark.parametrize("row", rows(), ids=lambda r: f"{r['hardware']}-{r['precision']}-{r['published']}{r['unit']}")
def test_peak_matches_its_published_figure(row):
    hw = hardware_catalog()[row["hardware"]]
    assert hw.peak(row["precision"]) == pytest.approx(dense(row), rel=float(row["rel_tol"])), row["note"]
    note = hw.source_of("peak_flops_per_s")
    assert note is not None and row["source_key"] in note.source, f"{hw.name}: peak source does not name {row['source_key']!r}"


@pytest.mark.parametrize("name", CURRENT)
def test_every_stored_peak_has_a_published_row(name):
    checked = {r["precision"] for r in rows() if r["hardware"] == name}
    assert set(hardware_catalog()[name].peak_flops_per_s) <= checked


def test_table_keys_are_catalog_names_and_units():
    for r in rows():
        assert r["hardware"] in CURRENT and r["unit"] in UNITS, r
        assert 0 < float(r["rel_tol"]) <= 0.01, r


@pytest.mark.parametrize("name", CURRENT)
def test_entries_are_sourced_graded_and_dense(name):
    hw = hardware_catalog()[name]
    assert hw.sources and all(n.quality in ("A", "B", "C") for n in hw.sources)
    named = [f for n in hw.sources for f in n.fields]
    assert len(named) == len(set(named)), f"{name}: a field is listed in two sources"
    # dense 16-bit peaks of this generation lie between 100 TFLOP/s and 3 PFLOP/s;
    # a sparse (2x) figure or a per-rack figure left in by mistake falls outside
    assert 100e12 <= hw.peak("bf16") <= 3e15
    if "fp8" in hw.peak_flops_per_s:
        assert hw.peak("fp8") == pytest.approx(2 * hw.peak("bf16"), rel=0.03)  # Trainium2: 1,299 vs 2 x 667
    assert "sparse" in hw.notes.lower() or "dense" in hw.notes.lower() or name.startswith(("tpu", "ascend"))


ALIASES = {
    "gb300": "gb300", "GB300 NVL72": "gb300", "GB300 (Blackwell Ultra)": "gb300",
    "b300": "b300", "b300-sxm": "b300", "HGX B300": "b300", "B300-SXM-270GB": "b300",
    "h20": "h20", "NVIDIA H20": "h20", "HGX H20": "h20",
    "mi355x": "mi355x", "AMD Instinct MI355X": "mi355x",
    "tpu-v7": "tpu-v7", "ironwood": "tpu-v7", "TPU7x": "tpu-v7", "tpuv7": "tpu-v7",
    "trainium2": "trainium2", "trn2": "trainium2", "trn2.48xlarge": "trainium2",
    "ascend-910b": "ascend-910b", "ascend910b": "ascend-910b", "910b": "ascend-910b", "Ascend 910B": "ascend-910b",
    "ascend-910c": "ascend-910c", "910c": "ascend-910c", "ascend910c": "ascend-910c",
}


@pytest.mark.parametrize("alias,name", ALIASES.items())
def test_aliases_users_type(alias, name):
    assert get_hardware(alias).name == name


def test_no_alias_names_two_entries():
    seen: dict[str, str] = {}
    for name, hw in hardware_catalog().items():
        for a in {normalise(name), *(normalise(x) for x in hw.aliases)}:
            assert seen.setdefault(a, name) == name, f"alias {a!r} in {seen[a]} and {name}"


def test_driver_device_names_match_the_catalog():
    from dcplan.io.profile import catalog_match

    assert catalog_match("NVIDIA H20") == "h20"
    assert catalog_match("NVIDIA H200") == "h200"  # not swallowed by the shorter H20
    assert catalog_match("NVIDIA B300 SXM6 AC") == "b300"
    assert catalog_match("NVIDIA GB300") == "gb300"
    assert catalog_match("AMD Instinct MI355X") == "mi355x"


def test_unpublished_precision_is_refused_with_what_is_known_and_where_from():
    hw = get_hardware("ascend-910b")
    with pytest.raises(InputError) as exc:
        hw.peak("fp8")
    msg = str(exc.value)
    assert exc.value.field == "precision"
    assert "no published dense fp8 peak" in msg and "will not estimate in fp8" in msg
    assert "published: bf16 313 TFLOP/s, fp16 313 TFLOP/s" in msg
    assert "source (C): Huawei 'Atlas 800T A2 training server technical white paper'" in msg
    assert "dcplan hardware show ascend-910b" in msg and "\n" not in msg
    # an entry whose peaks come from a primary source says so
    with pytest.raises(InputError, match=r"source \(A\): Google Cloud TPU docs"):
        get_hardware("ironwood").peak("int8")


def test_cli_refuses_an_unpublished_precision_in_one_line(run_cli):
    r = run_cli("estimate", "infer", "--model", "llama-3.1-8b", "--hardware", "910c", "--gpus", "1",
                "--precision", "int8", "--input-len", "1000", "--output-len", "100")
    assert r.returncode == 2 and r.stdout == "", r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert "ascend-910c has no published dense int8 peak" in lines[0]
    assert "bf16 752 TFLOP/s" in lines[0] and "finance.jrj.com.cn" in lines[0]


def test_hardware_list_has_the_current_chips(run_cli):
    r = run_cli("hardware", "list", "--json")
    assert r.returncode == 0, r.stderr
    names = {h["name"] for h in json.loads(r.stdout)}
    assert {"h20", "ascend-910b", "ascend-910c", "b300", "gb300", "mi355x", "tpu-v7", "trainium2"} <= names
    r = run_cli("hardware", "list")
    assert r.returncode == 0 and all(n in r.stdout for n in CURRENT)


@pytest.mark.parametrize("name", CURRENT)
def test_hardware_show_prints_every_source(run_cli, name):
    r = run_cli("hardware", "show", name)
    assert r.returncode == 0, r.stderr
    for note in hardware_catalog()[name].sources:
        assert note.source[:60] in r.stdout.replace("\n", "")
