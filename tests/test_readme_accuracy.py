"""The README's training-accuracy tables are what the code computes (scripts/validation_tables.py)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_readme_validation_tables_match_the_code():
    spec = importlib.util.spec_from_file_location("validation_tables", ROOT / "scripts" / "validation_tables.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    readme = mod.readme_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert readme == mod.blocks(), "README out of date: run python scripts/validation_tables.py --update-readme"
