"""Put a map on disk: its REPORT.md section and heat maps, its JSON, its metadata patch.

Every file is written whole by one rename (as the solve's report is), the
pictures into the report's figures folder, the rest beside the scenario.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from envprobe.model.mapping import MapResult
from envprobe.report.files import (
    _existing_report,
    _write_atomically,
    check_writable,
    figures_folder,
)
from envprobe.report.map import map_markdown, map_svg, pip_constraints, uv_metadata
from envprobe.report.sections import replace_section

__all__ = ["map_outputs", "render_map_json", "write_map"]


def map_outputs(folder: Path, scenario: str) -> tuple[Path, Path, Path]:
    """(JSON, uv metadata patch, folder of pip constraints) beside the scenario."""
    return (folder / f"{scenario}.map.json", folder / f"{scenario}.map-metadata.toml",
            folder / f"{scenario}.map-constraints")


def render_map_json(result: MapResult) -> str:
    return json.dumps(result.to_dict(), indent=2, sort_keys=False) + "\n"


def write_map(result: MapResult, report: Path, folder: Path) -> list[Path]:
    """Write every output of a map; returns the paths written."""
    check_writable(report)
    json_path, uv_path, constraints = map_outputs(folder, result.scenario)
    for path in (json_path, uv_path):
        check_writable(path)
    written: list[Path] = []
    pictures: dict[str, str] = {}
    for column in result.columns:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{result.scenario}-map-{column}").strip("-")
        picture = figures_folder(report) / f"{slug}.svg"
        _write_atomically(picture, map_svg(result, column))
        pictures[column] = picture.relative_to(report.parent).as_posix()
        written.append(picture)
    document = _existing_report(report) if report.exists() else ""
    body = map_markdown(result, pictures)
    _write_atomically(report, replace_section(document, f"{result.scenario}-map", body))
    _write_atomically(json_path, render_map_json(result))
    _write_atomically(uv_path, uv_metadata(result))
    written = [report, *written, json_path, uv_path]
    for row in result.rows:
        text = pip_constraints(result, row)
        if text is not None:
            path = constraints / f"{result.rows_package}-{row.version}.txt"
            _write_atomically(path, text)
            written.append(path)
    return written
