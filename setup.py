"""Packaging beyond pyproject.toml: data/ and profiles/ ship inside the wheel.

The repository keeps ``data/`` and ``profiles/`` at the top level; in the wheel they become the
packages ``dcplan.data`` and ``dcplan.shipped_profiles`` (read with importlib.resources by
``dcplan.io.resources``). Every data subfolder is found, so a new catalog folder ships without
editing this file; tests/test_packaging.py builds the wheel and runs it from another folder.
"""

from setuptools import find_namespace_packages, find_packages, setup

CODE = find_packages(include=["dcplan", "dcplan.*", "dashboards", "dashboards.*"])
DATA = ["dcplan.data", *(f"dcplan.data.{p}" for p in find_namespace_packages(where="data", exclude=["*__pycache__*"]))]
DATA_FILES = ["*.yaml", "*.yml", "*.csv", "*.json", "*.md"]

setup(
    packages=[*CODE, *DATA, "dcplan.shipped_profiles"],
    package_dir={"dcplan.data": "data", "dcplan.shipped_profiles": "profiles"},
    package_data={
        **{p: DATA_FILES for p in DATA},
        "dcplan.shipped_profiles": ["*.json", "*.md"],
        "dashboards": ["assets/*"],
        "dcplan.i18n": ["locale/*/LC_MESSAGES/*.mo", "locale/*/LC_MESSAGES/*.po", "*.pot"],  # message catalogs (scripts/i18n.py)
    },
    include_package_data=False,
)
