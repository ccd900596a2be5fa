"""A main-job run folder and its manifest (``run.json``): what the run planned, forecast and wrote.

``dcplan run`` writes the manifest beside its report; the dashboard reads it (``dcplan run``
serves it, ``dcplan dashboard --results DIR`` opens any run folder) so that every page opens on
that run: its calibration, its workload and plan, its scenario, its report files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from dcplan.errors import InputError

RUN_MANIFEST = "run.json"
RUN_KIND = "dcplan-run"
RUN_SCHEMA_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """One main-job run, as its manifest describes it."""

    folder: Path
    created: str
    workload: str
    """The workload as given (a file or a shipped sample's name)."""
    workload_text: str
    """The workload YAML the run planned."""
    scenario: str
    """The scenario as given (a shipped name or a file)."""
    scenario_text: str | None = None
    """The scenario YAML when it was a file (a shipped name needs none)."""
    calibration: Path | None = None
    profile: Path | None = None
    reports: Mapping[str, Path] = field(default_factory=dict)
    """Report files by format (html, pdf, xlsx, md, json)."""
    summary: Mapping[str, Any] = field(default_factory=dict)
    """The run's headline numbers (see :func:`dcplan.cli.run_cmd.summary`)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": RUN_SCHEMA_VERSION, "kind": RUN_KIND, "created": self.created,
            "workload": self.workload, "workload_text": self.workload_text,
            "scenario": self.scenario, "scenario_text": self.scenario_text,
            "calibration": str(self.calibration) if self.calibration else None,
            "profile": str(self.profile) if self.profile else None,
            "reports": {k: p.name if p.parent == self.folder else str(p) for k, p in self.reports.items()},
            "summary": dict(self.summary),
        }


def write_run(record: RunRecord) -> Path:
    """Write ``record`` as ``run.json`` in its folder (atomically, replacing an older manifest of the same run)."""
    from dcplan.io.jsonout import write_json

    return write_json(record.folder / RUN_MANIFEST, record.to_dict(), overwrite=True)


def read_run(folder: str | Path) -> RunRecord:
    """The run in ``folder``; InputError naming the field when it is not a run folder."""
    from dcplan.io.yamlio import read_json

    d = Path(folder)
    path = d / RUN_MANIFEST
    if not d.is_dir():
        raise InputError("results", f"{d} is not a folder; give a run folder written by `dcplan run` (reports/run-<time>/)")
    if not path.is_file():
        raise InputError("results", f"{d} has no {RUN_MANIFEST}; give a run folder written by `dcplan run` (reports/run-<time>/)")
    doc = read_json(path, "results")
    if not isinstance(doc, dict) or doc.get("kind") != RUN_KIND:
        raise InputError("results", f"{path}: not a dcplan run manifest (kind must be {RUN_KIND!r})")
    if doc.get("schema_version") != RUN_SCHEMA_VERSION:
        raise InputError("results", f"{path}: this dcplan reads run manifests of version {RUN_SCHEMA_VERSION}, got {doc.get('schema_version')!r}")
    for key in ("workload", "workload_text", "scenario"):
        if not isinstance(doc.get(key), str):
            raise InputError("results", f"{path}: {key} must be text")

    def opt_path(key: str) -> Path | None:
        v = doc.get(key)
        return Path(v) if isinstance(v, str) and v else None

    reports = {str(k): (d / v if not Path(v).is_absolute() else Path(v)) for k, v in (doc.get("reports") or {}).items() if isinstance(v, str)}
    return RunRecord(
        folder=d.resolve(), created=str(doc.get("created") or ""), workload=doc["workload"], workload_text=doc["workload_text"],
        scenario=doc["scenario"], scenario_text=doc.get("scenario_text") if isinstance(doc.get("scenario_text"), str) else None,
        calibration=opt_path("calibration"), profile=opt_path("profile"), reports=reports,
        summary=doc.get("summary") if isinstance(doc.get("summary"), dict) else {},
    )
