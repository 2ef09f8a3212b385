"""Hand-off to the manual exporter when no package set imports.

The solver does not depend on torch: the exporter is imported only here, only
when a scenario's verdict calls for it, and its absence is reported in plain
words instead of failing the solve.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["run_fallback"]


def run_fallback(
    model: Path, out_dir: Path, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Export `model` to `out_dir`; a dict for the report, whatever happens."""
    base = {"model": str(model), "output": str(out_dir)}
    if not model.is_file():
        return {**base, "status": "skipped", "message": f"model file not found: {model}"}
    try:
        from manual_export.api import export_nemo
        from manual_export.errors import ExportError
    except ImportError as missing:
        return {
            **base,
            "status": "unavailable",
            "message": f"no exporter is installed ({missing}); "
            "install envprobe with the 'export' extra",
        }
    try:
        report = export_nemo(model, out_dir, progress=progress)
    except (ExportError, ValueError, OSError) as error:
        return {**base, "status": "failed", "message": str(error)}
    return {**base, **report.to_dict()}
