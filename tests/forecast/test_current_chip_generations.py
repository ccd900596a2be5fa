"""The forecast's catalog roadmap (scenario ``generations``) with the current chips (issue 19):
a chip with published peak and power becomes a generation; one without is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcplan.errors import InputError
from dcplan.io.scenario import load_scenario

BASE = Path(__file__).resolve().parents[2] / "data" / "scenarios" / "base.yaml"


def _scenario(tmp_path: Path, generations: str) -> Path:
    items = "".join(f"  {line.strip()}\n" for line in generations.splitlines() if line.strip())
    p = tmp_path / "gens.yaml"
    p.write_text(f"name: gens\nextends: {BASE}\ngenerations:\n{items}", encoding="utf-8")
    return p


def test_current_chips_as_generations(tmp_path):
    p = _scenario(tmp_path, """\
        - {name: v100, hardware: v100, first_vintage: 2017, precision: fp16}
        - {name: a100, hardware: a100-80gb, first_vintage: 2020}
        - {name: h100, hardware: h100-sxm, first_vintage: 2023}
        - {name: b200, hardware: b200, first_vintage: 2025}
        - {name: b300, hardware: b300, first_vintage: 2026}
        - {name: gb300, hardware: gb300, first_vintage: 2027, precision: fp8}
        - {name: next, hardware: null, first_vintage: 2028}
        """)
    gens = {g.name: g for g in load_scenario(str(p)).generations}
    h100 = 989.4e12
    assert gens["b300"].h100e_per_unit == pytest.approx(2250e12 / h100)
    assert gens["b300"].server_power_w == pytest.approx(14000 / 8)  # DGX B300 rack budget per GPU
    assert gens["gb300"].h100e_per_unit == pytest.approx(5000e12 / h100)
    # GB300 NVL72 rack maximum (142 kW, NVIDIA enterprise RA) over 18 trays of 4 GPUs, preferred to TDP x 1.82
    assert gens["gb300"].server_power_w == pytest.approx(7889 / 4)
    assert "data/hardware/gb300.yaml" in gens["gb300"].source


@pytest.mark.parametrize("chip", ["tpu-v7", "ascend-910c"])
def test_chip_without_published_power_is_a_clear_error(tmp_path, chip):
    p = _scenario(tmp_path, f"""\
        - {{name: v100, hardware: v100, first_vintage: 2017, precision: fp16}}
        - {{name: new, hardware: {chip}, first_vintage: 2026}}
        """)
    with pytest.raises(InputError) as exc:
        load_scenario(str(p))
    assert exc.value.field.endswith("hardware") and exc.value.line is not None
    assert f"no published tdp_w for {chip}" in str(exc.value) and f"dcplan hardware show {chip}" in str(exc.value)


def test_unpublished_precision_of_a_generation_names_its_source(tmp_path):
    p = _scenario(tmp_path, """\
        - {name: v100, hardware: v100, first_vintage: 2017, precision: fp16}
        - {name: mi355x, hardware: mi355x, first_vintage: 2026, precision: int8}
        """)
    with pytest.raises(InputError) as exc:
        load_scenario(str(p))
    assert exc.value.field.endswith("precision")
    assert "no published dense int8 peak" in str(exc.value) and "ROCm docs" in str(exc.value)
