"""Profile files: round trip, atomic never-overwriting writes, validation errors naming the field."""

import json
import math

import pytest

from dcplan.errors import InputError
from dcplan.io.profile import free_profile_path, profile_from_dict, read_profile, write_profile
from dcplan.io.yamlio import write_atomic


def test_round_trip(tiny_profile, tmp_path):
    path = write_profile(tmp_path / "p.json", tiny_profile)
    back = read_profile(path)
    assert back.to_dict() == tiny_profile.to_dict()
    kinds = {m.kind for m in back.measurements}
    assert {"gemm", "bandwidth", "attention", "train", "prefill", "decode", "seq2seq"} <= kinds
    for m in back.measurements:
        assert m.time_s.n >= 1 and m.time_s.estimate > 0
        assert m.peak_memory_bytes is not None and m.peak_memory_bytes >= 0
    train = back.of_kind("train")[0]
    assert train.flops_counter_causal_adjusted == pytest.approx(train.flops, rel=1e-9)
    env = back.environment
    for key in ("hostname", "date_utc", "torch", "cpu_model", "cpu_logical", "host_memory_bytes", "dcplan_version", "loadavg_start"):
        assert key in env


def test_never_overwrites(tiny_profile, tmp_path):
    path = write_profile(tmp_path / "p.json", tiny_profile)
    before = path.read_bytes()
    with pytest.raises(InputError, match="exists"):
        write_profile(path, tiny_profile)
    assert path.read_bytes() == before
    assert free_profile_path(tmp_path, "p").name == "p-2.json"


def test_failed_write_leaves_nothing(tmp_path):
    def half_then_crash(fh):
        fh.write('{"schema_version": 1, "kind": "dcplan-pro')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "p.json", half_then_crash)
    assert list(tmp_path.iterdir()) == []


def _doc(tiny_profile):
    return json.loads(json.dumps(tiny_profile.to_dict()))


@pytest.mark.parametrize("edit,field", [
    (lambda d: d.pop("kind"), "kind"),
    (lambda d: d.update(schema_version=2), "schema_version"),
    (lambda d: d.pop("measurements"), "measurements"),
    (lambda d: d.update(measurements={}), "measurements"),
    (lambda d: d["measurements"][0].update(kind="warp"), "measurements[0].kind"),
    (lambda d: d["measurements"][0]["time_s"].update(median=math.nan), "measurements[0].time_s.median"),
    (lambda d: d["measurements"][1]["time_s"].update(estimate=-0.5), "measurements[1].time_s.estimate"),
    (lambda d: d["measurements"][0]["config"].pop("m"), "measurements[0].config.m"),
    (lambda d: d["measurements"][0].update(time_s=None), "measurements[0].time_s"),
    (lambda d: d["device"].update(type="tpu"), "device.type"),
    (lambda d: d["measurements"][2].update(peak_memory_bytes="lots"), "measurements[2].peak_memory_bytes"),
])
def test_validation_names_the_field(tiny_profile, edit, field):
    doc = _doc(tiny_profile)
    edit(doc)
    with pytest.raises(InputError) as info:
        profile_from_dict(doc, "bad.json")
    assert info.value.field == field
    assert info.value.file == "bad.json"


def test_truncated_and_empty_files(tiny_profile, tmp_path):
    path = write_profile(tmp_path / "p.json", tiny_profile)
    text = path.read_text()
    cut = tmp_path / "cut.json"
    cut.write_text(text[: len(text) // 2])
    with pytest.raises(InputError, match="truncated"):
        read_profile(cut)
    empty = tmp_path / "empty.json"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        read_profile(empty)
    with pytest.raises(InputError, match="not found"):
        read_profile(tmp_path / "missing.json")


def test_block_states_and_notes_round_trip(tiny_profile, tmp_path):
    import dataclasses

    m = tiny_profile.measurements[0]
    states = ({"host_probe_s": 4e-5, "sm_clock_mhz": 1980}, {"host_probe_s": 4.1e-5, "sm_clock_mhz": 1755})
    m2 = dataclasses.replace(m, time_s=dataclasses.replace(m.time_s, block_states=states, states_differ=True))
    prof = dataclasses.replace(tiny_profile, measurements=(m2,), notes="measured on a test bench")
    back = read_profile(write_profile(tmp_path / "s.json", prof))
    assert back.measurements[0].time_s.block_states == states and back.measurements[0].time_s.states_differ
    assert back.notes == "measured on a test bench"
    doc = prof.to_dict()
    doc["measurements"][0]["time_s"]["block_states"] = "fast"
    with pytest.raises(InputError, match=r"measurements\[0\].time_s.block_states"):
        profile_from_dict(doc, "bad.json")
