"""Data flows one way (DESIGN.md): a stage never imports a later one, and torch stays in the profiler."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "dcplan"

#: package -> packages it must never import (later stages and the faces)
FORBIDDEN = {
    "dcplan.model": ("dcplan.profile", "dcplan.calibrate", "dcplan.capacity", "dcplan.forecast", "dcplan.report", "dcplan.cli", "dashboards", "torch"),
    "dcplan.calibrate": ("dcplan.capacity", "dcplan.forecast", "dcplan.report", "dashboards", "torch"),
    "dcplan.capacity": ("dcplan.forecast", "dcplan.report", "dcplan.cli", "dashboards", "torch"),
    "dcplan.forecast": ("dcplan.report", "dcplan.cli", "dashboards", "torch"),
    "dcplan.figures": ("dcplan.report", "dashboards", "torch"),
    "dcplan.report": ("dashboards", "dcplan.cli", "torch"),
    "dcplan.io": ("dashboards", "torch", "dcplan.report"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def _modules(package: str):
    folder = ROOT.joinpath(*package.split("."))
    return sorted(folder.rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_of_a_later_stage(package):
    bad = []
    for path in _modules(package):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[package]):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "\n".join(bad)


def test_torch_only_in_the_profiler():
    bad = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("dcplan/profile/"):
            continue
        if any(n == "torch" or n.startswith("torch.") for n in _imports(path)):
            bad.append(rel)
    allowed = {"dcplan/cli/profile_cmd.py"}  # the profile command's handler imports it lazily
    assert set(bad) <= allowed, bad


def test_profile_and_calibrate_load_no_dashboard_package(tmp_path):
    """The GPU machine runs `python -m dcplan profile|calibrate` from the source tree without dash or plotly."""
    import subprocess
    import sys

    code = (
        "import sys; from dcplan.cli.main import main\n"
        f"rc = main(['calibrate', {str(ROOT / 'profiles' / 'gpu-nvidia-h200-standard.json')!r}, '--out', {str(tmp_path / 'c.json')!r}, '--json'])\n"
        "import dcplan.profile.run, dcplan.cli.profile_cmd\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dash', 'plotly', 'dashboards', 'openpyxl', 'playwright'))\n"
        "sys.stderr.write(repr(bad)); sys.exit(rc or (1 if bad else 0))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
