"""Where the files dcplan ships live: the data catalogs and the shipped profiles.

In a built wheel they are the packages ``dcplan.data`` (the repository's ``data/``) and
``dcplan.shipped_profiles`` (``profiles/``), found with :mod:`importlib.resources`, so an
installed dcplan works from any folder. Run from a source checkout without installing
(``PYTHONPATH=. python3 -m dcplan``, as on the GPU machines) the same folders are read beside
the package. ``$DCPLAN_DATA`` replaces the data folder (a user's own catalogs).
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[2]
"""The checkout this module was loaded from (meaningful only when run from a source tree)."""


def _packaged(package: str, source_folder: str) -> Path:
    """The folder of ``package`` when installed as a real directory, else ``source_folder`` of the checkout."""
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError:
        root = None
    if isinstance(root, Path) and root.is_dir():
        return root
    return SOURCE_ROOT / source_folder


def data_dir() -> Path:
    """The data catalogs: ``$DCPLAN_DATA``, else the shipped ones."""
    env = os.environ.get("DCPLAN_DATA")
    return Path(env) if env else _packaged("dcplan.data", "data")


def shipped_profiles_dir() -> Path:
    """The profiles that ship with dcplan (read-only in an installed package)."""
    return _packaged("dcplan.shipped_profiles", "profiles")
