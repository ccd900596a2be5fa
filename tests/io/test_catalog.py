"""Catalog files: every figure has a source; schema errors name file, line and field."""

import textwrap

import pytest

from dcplan.errors import InputError
from dcplan.io.catalog import hardware_catalog
from dcplan.io.schema import build
from dcplan.io.yamlio import parse_yaml
from dcplan.specs import HardwareSpec, ModelSpec

UNSOURCED_OK = {"name", "display_name", "aliases", "vendor", "kind", "form_factor", "sources", "notes"}


def test_every_hardware_figure_has_a_source():
    for hw in hardware_catalog().values():
        covered = {f for note in hw.sources for f in note.fields}
        for name in HardwareSpec.__dataclass_fields__:
            if name in UNSOURCED_OK:
                continue
            value = getattr(hw, name)
            if value not in (None, {}, ()):
                assert name in covered, f"{hw.name}.{name} has no source"
        assert all(note.quality[0] in "ABC" for note in hw.sources), hw.name


def test_peaks_are_dense_and_plausible():
    h100 = hardware_catalog()["h100-sxm"]
    assert h100.peak("bf16") == pytest.approx(989.4e12)
    assert h100.peak("fp8") == pytest.approx(2 * h100.peak("bf16"), rel=0.01)


def test_unknown_field_suggests_nearest():
    doc = parse_yaml(textwrap.dedent("""\
        name: x
        n_layers: 2
        d_modle: 64
        n_heads: 4
        d_ff: 256
        vocab_size: 100
    """), "m.yaml")
    with pytest.raises(InputError) as exc:
        build(ModelSpec, doc.data, doc)
    e = exc.value
    assert e.file == "m.yaml" and e.line == 3 and "d_model" in str(e)


def test_wrong_type_and_range_have_lines():
    doc = parse_yaml("name: x\nn_layers: -2\nd_model: 64\nn_heads: 4\nd_ff: 256\nvocab_size: 100\n", "m.yaml")
    with pytest.raises(InputError) as exc:
        build(ModelSpec, doc.data, doc)
    assert exc.value.line == 2 and exc.value.field == "n_layers"
    doc = parse_yaml("name: x\nn_layers: two\nd_model: 64\nn_heads: 4\nd_ff: 256\nvocab_size: 100\n", "m.yaml")
    with pytest.raises(InputError) as exc:
        build(ModelSpec, doc.data, doc)
    assert exc.value.line == 2


def test_malformed_yaml_and_duplicates():
    with pytest.raises(InputError) as exc:
        parse_yaml("a: [1, 2\nb: 3\n", "bad.yaml")
    assert exc.value.file == "bad.yaml" and exc.value.line
    with pytest.raises(InputError, match="duplicate"):
        parse_yaml("a: 1\na: 2\n", "dup.yaml")


def test_yaml_numbers_accept_suffixes():
    doc = parse_yaml("name: x\nn_layers: 2\nd_model: 64\nn_heads: 4\nd_ff: 256\nvocab_size: 32K\npublished_params: 70B\n", "m.yaml")
    m = build(ModelSpec, doc.data, doc)
    assert m.vocab_size == 32000 and m.published_params == 70e9
