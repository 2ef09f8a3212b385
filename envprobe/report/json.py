"""The result as one JSON object: what `--json` prints and what gets committed.

Name-to-version maps are sorted so two runs that found the same thing give
byte-identical files; everything else keeps the model's own key order.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from envprobe.model.result import SolveResult

__all__ = ["render_json"]

_NAME_MAPS = frozenset({"pins", "installed", "seconds"})


def _stable(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        items = sorted(value.items()) if key in _NAME_MAPS else value.items()
        return {k: _stable(v, k) for k, v in items}
    if isinstance(value, (list, tuple)):
        return [_stable(v) for v in value]
    return value


def render_json(result: SolveResult) -> str:
    """Pretty JSON of `result.to_dict()`, ending in a newline."""
    return json.dumps(_stable(result.to_dict()), indent=2, ensure_ascii=False, default=str) + "\n"
