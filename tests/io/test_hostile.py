"""The hostile corpus (tests/io/hostile/) against every file reader and the CLI.

Each file is refused with one line naming the file (and the field where there is one), exit
status 2, no traceback and nothing written; in well under a second (an alias bomb must not expand).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dcplan import limits
from dcplan.errors import InputError
from dcplan.io import yamlio

HERE = Path(__file__).parent / "hostile"
YAML = sorted(p for p in HERE.glob("*.yaml"))
JSON = sorted(p for p in HERE.glob("*.json"))
ROOT = Path(__file__).resolve().parents[2]
#: Well-formed documents whose problem is their content: the layer passes them, the readers refuse them.
CONTENT_ONLY = {"unicode-homoglyph-key.yaml", "wrong-type-bool.yaml", "wrong-type-map-for-list.yaml",
                "wrong-type-text-for-number.yaml", "wrong-types.json", "unicode-oddities.json",
                "scenario-wrong-types.yaml", "scenario-extends-self.yaml", "scenario-extends-device.yaml"}


def _one_line(exc: InputError, path: Path) -> str:
    line = exc.one_line()
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert path.name in line
    assert len(line) <= 2000
    return line


def test_corpus_is_there():
    assert len(YAML) >= 30 and len(JSON) >= 18


@pytest.mark.parametrize("path", YAML, ids=lambda p: p.name)
def test_yaml_readers_refuse(path):
    from dcplan.capacity.loaders import load_workload
    from dcplan.io.scenario import load_scenario

    readers = [load_workload, load_scenario] + ([] if path.name in CONTENT_ONLY else [yamlio.read_yaml])
    for reader in readers:
        with pytest.raises(InputError) as info:
            reader(str(path))
        _one_line(info.value, path)


@pytest.mark.parametrize("path", JSON, ids=lambda p: p.name)
def test_json_readers_refuse(path):
    from dcplan.io.calibration import read_calibration
    from dcplan.io.profile import read_profile

    readers = [read_profile, read_calibration] + ([] if path.name in CONTENT_ONLY else [yamlio.read_json])
    try:  # the Hugging Face config.json reader, where it exists, reads through the same layer
        from dcplan.io.hf_config import read_hf_config  # type: ignore[import-not-found]

        readers.append(read_hf_config)
    except ImportError:
        pass
    for reader in readers:
        with pytest.raises(InputError) as info:
            reader(str(path))
        _one_line(info.value, path)


def test_refusal_names_the_field_and_line():
    with pytest.raises(InputError) as info:
        yamlio.read_yaml(HERE / "nan.yaml")
    assert (info.value.field, info.value.line) == ("horizon_years", 2)
    with pytest.raises(InputError) as info:
        yamlio.read_json(HERE / "infinity.json", "profile")
    assert info.value.field == "profile.calibration.x"
    with pytest.raises(InputError) as info:
        yamlio.read_json(HERE / "huge-int.json")
    assert "too large" in info.value.message


def test_escapes_reach_no_terminal():
    with pytest.raises(InputError) as info:
        from dcplan.capacity.loaders import load_workload

        load_workload(HERE / "unicode-escape-in-key.yaml")
    line = info.value.one_line()
    assert "\\x1b" in line and "\\n" in line and "\x1b" not in line


def test_alias_bomb_is_refused_before_expansion():
    import time

    start = time.perf_counter()
    with pytest.raises(InputError, match="YAML nodes"):
        yamlio.read_yaml(HERE / "alias-bomb.yaml")
    assert time.perf_counter() - start < 5  # expanded, it would be 387 million nodes


def test_small_aliases_still_work():
    doc = yamlio.parse_yaml("base: &b {x: 1, y: [1, 2]}\nother: *b\n", "ok.yaml")
    assert doc.data["other"] == {"x": 1, "y": [1, 2]}


def test_byte_order_mark_is_dropped():
    assert yamlio.decode_text("\ufeffname: x\n".encode(), "f.yaml") == "name: x\n"


def test_expect_any_and_list():
    assert yamlio.parse_yaml("[1, 2]", "l.yaml", expect="list").data == [1, 2]
    assert yamlio.parse_json("[1]", "l.json", expect="any") == [1]
    with pytest.raises(InputError, match="expected a list"):
        yamlio.parse_yaml("a: 1", "m.yaml", expect="list")


def _special_paths(tmp_path: Path) -> dict[str, Path]:
    d = tmp_path / "folder.yaml"
    d.mkdir()
    dj = tmp_path / "folder.json"
    dj.mkdir()
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    fifoj = tmp_path / "pipe.json"
    os.mkfifo(fifoj)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"name: x\n" + b"#" * int(limits.YAML_FILE.maximum) + b"\n")
    bigj = tmp_path / "big.json"
    with open(bigj, "wb") as fh:
        fh.truncate(int(limits.JSON_FILE.maximum) + 1)  # sparse: no disk used
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    return {"directory": d, "directory-json": dj, "fifo": fifo, "fifo-json": fifoj, "oversized": big, "oversized-json": bigj,
            "device": zero, "missing": tmp_path / "missing.yaml"}


def test_directories_devices_pipes_and_oversized_files(tmp_path):
    for kind, path in _special_paths(tmp_path).items():
        reader = yamlio.read_json if path.suffix == ".json" else yamlio.read_yaml
        with pytest.raises(InputError) as info:
            reader(path)  # a FIFO without a writer would block open(): it must be refused by its type
        _one_line(info.value, path)
        assert kind.split("-")[0] in {"directory", "fifo", "oversized", "device", "missing"}


def test_json_value_count_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "JSON_NODES", limits.Limit("JSON values", 1000, "values", "test"))
    p = tmp_path / "many.json"
    p.write_text('{"a": [' + ",".join(["0"] * 2000) + "]}")
    with pytest.raises(InputError, match="JSON values"):
        yamlio.read_json(p)


# --------------------------------------------------------------------------------------------
# The CLI: every command that reads a file, on every corpus file
# --------------------------------------------------------------------------------------------


def _commands(path: Path, out: Path) -> list[list[str]]:
    if path.suffix == ".yaml":
        return [["plan", str(path), "--out", str(out / "plan")],
                ["forecast", "--scenario", str(path), "--samples", "100", "--csv", str(out / "f.csv")],
                ["report", "--workload", str(path), "--out", f"{out}/r/", "--format", "md,json"]]
    return [["calibrate", str(path), "--out", str(out / "c.json")],
            ["estimate", "train", "--model", "gpt-2-small", "--tokens", "1B", "--gpus", "8", "--profile", str(path)],
            ["plan", str(ROOT / "data/workloads/train-70b.yaml"), "--profile", str(path), "--out", str(out / "plan")],
            ["report", "--profile", str(path), "--out", f"{out}/r/", "--format", "md"]]


def _run(argv: list[str]) -> tuple[int, str]:
    from dcplan.cli.main import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(argv)
    return rc, err.getvalue()


@pytest.mark.parametrize("path", YAML + JSON, ids=lambda p: p.name)
def test_cli_refuses_with_one_line_and_writes_nothing(path, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for argv in _commands(path, out):
        rc, err = _run(argv)
        assert rc == 2, (argv, err)
        assert err.count("\n") == 1 and err.startswith("dcplan: error: ") and path.name in err, (argv, err)
        assert "Traceback" not in err
        assert list(out.iterdir()) == [], argv


def test_cli_refuses_special_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for path in _special_paths(tmp_path).values():
        for argv in _commands(path, out)[:2]:
            rc, err = _run(argv)
            assert rc == 2 and err.count("\n") == 1 and path.name in err, (argv, err)
    assert list(out.iterdir()) == []


@pytest.mark.slow
def test_real_process_exit_status(tmp_path):
    """The installed entry point, as a user runs it: exit 2, one line, no traceback."""
    for argv in (["plan", str(HERE / "alias-bomb.yaml")], ["calibrate", str(HERE / "deep.json"), "--out", str(tmp_path / "c.json")],
                 ["forecast", "--scenario", str(HERE / "huge-int.yaml")]):
        res = subprocess.run([sys.executable, "-m", "dcplan", *argv], capture_output=True, text=True, timeout=120)
        assert res.returncode == 2, res.stderr
        assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert not (tmp_path / "c.json").exists()
