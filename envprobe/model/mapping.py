"""What a map established: for each release of one project, the window of every other.

A window is the lowest and the highest release of a column project that
really work with one row release (probes passed), each edge with the reason
it is an edge. Cells say what is known of every column release, so a heat
map can be drawn without probing. Everything round-trips through JSON: the
store keeps it, renderers read it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from envprobe.model.rules import Rule

__all__ = ["CellState", "Edge", "EdgeReason", "MapResult", "MapRow", "RowStatus", "Window"]


class RowStatus(enum.StrEnum):
    WORKS = "works"  # every column has a window whose edges passed a probe
    BROKEN = "broken"  # some column has no release that works with this row
    UNDECIDED = "undecided"  # budget spent, a probe lost, or nothing could tell


class CellState(enum.StrEnum):
    """What is known of one column release beside one row release."""

    WORKS = "works"  # a probe passed
    INSIDE = "inside"  # between two passing edges, not probed itself
    FAILS = "fails"  # a probe failed
    LACKS = "lacks"  # a static scan: the release lacks a name the row imports
    DECLARED = "declared"  # a declared requirement (or a learned rule) excludes it
    NO_FILE = "no_file"  # nothing installs on this interpreter
    UNBUILT = "unbuilt"  # every set with it needs a release that does not build here
    UNKNOWN = "unknown"  # not probed and not excluded


class EdgeReason(enum.StrEnum):
    """Why a window ends where it does."""

    BOUNDARY = "boundary"  # the next release lacks (or the previous lacked) a name: a scan
    DECLARED = "declared"  # a declared requirement, or one learned from a probe, excludes it
    PROBE = "probe"  # the next release was probed and failed
    NO_FILE = "no_file"  # the next release has no file this interpreter installs
    BUILD = "build"  # the next release needs a build that fails on this Python
    RANGE = "range"  # the end of the scenario's range


@dataclass
class Edge:
    """One end of a window: the release, why nothing further out works, the proof."""

    reason: EdgeReason
    words: str
    probe: int | None = None  # the passing probe at this release
    outside: str | None = None  # the next release out, if any
    evidence: list[int] = field(default_factory=list)  # probes that failed outside
    scanned: list[str] = field(default_factory=list)  # wheels read for the reason

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason.value, "words": self.words, "probe": self.probe,
                "outside": self.outside, "probes": list(self.evidence),
                "wheels": list(self.scanned)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Edge:
        return cls(EdgeReason(data["reason"]), data["words"], data.get("probe"),
                   data.get("outside"), list(data.get("probes") or []),
                   list(data.get("wheels") or []))


@dataclass
class Window:
    """The releases of one column project that work with one row release."""

    lowest: str | None = None
    highest: str | None = None
    declared: str | None = None  # the row release's Requires-Dist specifier on the column
    suggested: str | None = None  # the PEP 440 specifier it should have declared
    lower: Edge | None = None
    upper: Edge | None = None
    cells: dict[str, tuple[str, str, int | None]] = field(default_factory=dict)
    note: str = ""  # why the window is empty or undecided

    def to_dict(self) -> dict[str, Any]:
        return {
            "lowest": self.lowest, "highest": self.highest,
            "declared": self.declared, "suggested": self.suggested,
            "evidence": {"lower": self.lower.to_dict() if self.lower else None,
                         "upper": self.upper.to_dict() if self.upper else None,
                         "note": self.note},
            "cells": {v: {"state": s, "words": w, "probe": p}
                      for v, (s, w, p) in self.cells.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Window:
        evidence = data.get("evidence") or {}
        return cls(
            data.get("lowest"), data.get("highest"), data.get("declared"), data.get("suggested"),
            Edge.from_dict(evidence["lower"]) if evidence.get("lower") else None,
            Edge.from_dict(evidence["upper"]) if evidence.get("upper") else None,
            {v: (c["state"], c["words"], c.get("probe"))
             for v, c in (data.get("cells") or {}).items()},
            evidence.get("note", ""),
        )


@dataclass
class MapRow:
    version: str
    status: RowStatus
    windows: dict[str, Window] = field(default_factory=dict)
    reason: str = ""
    requires_dist: list[str] = field(default_factory=list)  # as declared, for the patch
    imports: list[str] = field(default_factory=list)  # column projects its code imports

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "status": self.status.value, "reason": self.reason,
                "windows": {c: w.to_dict() for c, w in self.windows.items()},
                "requires_dist": list(self.requires_dist), "imports": list(self.imports)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MapRow:
        return cls(data["version"], RowStatus(data["status"]),
                   {c: Window.from_dict(w) for c, w in (data.get("windows") or {}).items()},
                   data.get("reason", ""), list(data.get("requires_dist") or []),
                   list(data.get("imports") or []))


@dataclass
class MapResult:
    scenario: str
    rows_package: str
    columns: list[str]
    column_releases: dict[str, list[str]]  # every release in range, ascending: the picture's axis
    rows: list[MapRow] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    probes: int = 0
    installs: int = 0
    scans: int = 0
    executor: str = "local"
    workers: int = 1
    seconds: float = 0.0
    python: str = ""

    @property
    def decided(self) -> bool:
        return all(r.status is not RowStatus.UNDECIDED for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "rows_package": self.rows_package,
            "columns": list(self.columns), "column_releases": self.column_releases,
            "rows": [r.to_dict() for r in self.rows],
            "rules": [r.to_dict() for r in self.rules], "notes": list(self.notes),
            "probes": self.probes, "installs": self.installs, "static_scans": self.scans,
            "executor": self.executor, "workers": self.workers,
            "seconds": round(self.seconds, 2), "python": self.python,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MapResult:
        return cls(
            data["scenario"], data["rows_package"], list(data["columns"]),
            {c: list(v) for c, v in (data.get("column_releases") or {}).items()},
            [MapRow.from_dict(r) for r in data.get("rows", [])],
            [Rule.from_dict(r) for r in data.get("rules", [])],
            list(data.get("notes", [])), int(data.get("probes", 0)),
            int(data.get("installs", 0)), int(data.get("static_scans", 0)),
            data.get("executor", "local"), int(data.get("workers", 1)),
            float(data.get("seconds", 0.0)), data.get("python", ""),
        )
