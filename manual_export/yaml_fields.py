"""Checks on single fields of `model_config.yaml`, shared by the config parsers.

Each raises a one-line `ConfigError` naming the option, so an unsupported
model is refused with the reason instead of exported wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from manual_export.errors import ConfigError, UnsupportedOptionError

__all__ = ["integer", "require", "require_target"]


def require_target(raw: Mapping[str, Any], section: str, class_name: str) -> None:
    """The section's `_target_`, when present, names `class_name` (any module path)."""
    target = raw.get("_target_")
    if target is not None and str(target).rsplit(".", 1)[-1] != class_name:
        raise UnsupportedOptionError(f"{section}._target_", target, class_name)


def require(raw: Mapping[str, Any], option: str, expected: object, supported: str) -> None:
    """An option we do not implement must be absent or at the value we do implement."""
    key = option.rsplit(".", 1)[-1]
    if key in raw and raw[key] != expected:
        raise UnsupportedOptionError(option, raw[key], supported)


def integer(raw: Mapping[str, Any], option: str, default: int | None = None) -> int:
    key = option.rsplit(".", 1)[-1]
    value = raw.get(key, default)
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{option} must be an integer, got {value!r}")
    return value
