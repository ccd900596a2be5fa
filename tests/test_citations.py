"""Sources cite public documents, never this project's private working files.

The product (data/, docs/, code, README) must name the paper, report, table or URL behind a
figure. A path to a development machine or to the project's working notes means nothing to a
reader and is a citation they cannot follow.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRIVATE = re.compile(r"shared/reference|shared/profiles|market-methods\.md|performance-methods\.md|/wor" r"k/")
SKIP_DIRS = {"tests", ".git", ".venv", "build", "dist", "reports", "__pycache__", ".pytest_cache"}
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".csv", ".json", ".toml", ".txt", ".cfg", ".sh", ".css", ".js", ".html", ""}


def _product_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
        files = [ROOT / f for f in out]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an sdist): walk the tree
        files = [p for p in ROOT.rglob("*") if p.is_file()]
    keep = []
    for p in files:
        rel = p.relative_to(ROOT)
        if rel.parts[0] in SKIP_DIRS or any(part.endswith(".egg-info") for part in rel.parts) or rel.name == ".gitignore":
            continue
        if p.suffix in TEXT_SUFFIXES and p.is_file():
            keep.append(p)
    return keep


def test_no_private_working_files_are_cited():
    hits = []
    for p in _product_files():
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if PRIVATE.search(line):
                hits.append(f"{p.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    assert not hits, "cite the public source instead of a working file:\n" + "\n".join(hits)


def test_the_check_sees_a_planted_reference(tmp_path):
    # the pattern itself must match each form that was cleaned out
    for planted in ("via /wor" "k/shared/reference/accelerators.csv", "(market-methods.md §2 eq. 9)",
                    "performance-methods.md §5.1", "shared/profiles/h200-quick.json"):
        assert PRIVATE.search(planted), planted
