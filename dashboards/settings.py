"""What the dashboard is started with: where profiles live, which run to open on, upload limits.

Kept apart from the app factory so pages can read it without importing the app (no import
circle between ``dashboards.app`` and ``dashboards.pages``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dcplan.io.runs import RunRecord

from dcplan import limits

#: Largest upload accepted (workload/scenario YAML, profiles) [bytes]: dcplan.limits.UPLOAD.
MAX_UPLOAD_BYTES = int(limits.UPLOAD.maximum)


@dataclass(frozen=True)
class Settings:
    """Where the dashboard finds its inputs; read-only for callbacks."""

    profiles_dir: Path
    run: RunRecord | None = None
    """The main job's run to open every page on (``dcplan run``, ``dcplan dashboard --results DIR``)."""

    @property
    def results_dir(self) -> Path | None:
        return self.run.folder if self.run else None

    @classmethod
    def from_env(cls) -> Settings:
        """$DCPLAN_PROFILES_DIR (else the shipped profiles) and $DCPLAN_RESULTS_DIR (a run folder)."""
        from dcplan.io.resources import shipped_profiles_dir
        from dcplan.io.runs import read_run

        res = os.environ.get("DCPLAN_RESULTS_DIR")
        return cls(
            profiles_dir=Path(os.environ.get("DCPLAN_PROFILES_DIR") or shipped_profiles_dir()),
            run=read_run(res) if res else None,
        )
