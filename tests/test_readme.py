"""The README's figures are what the code computes today (scripts/readme_figures.py writes them)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_figures_are_current():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_figures.py"), "--check"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-500:]


def test_a_stale_figure_is_noticed(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import readme_figures
    finally:
        sys.path.pop(0)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    stale = text.replace("| peak memory | 71 | ", "| peak memory | 71 | 1", 1)  # a hand-edited (or outdated) figure
    assert stale != text and readme_figures.render(stale) == text
