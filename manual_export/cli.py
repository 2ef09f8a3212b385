"""`export` and `transcribe` for `python -m manual_export`: envprobe's own commands.

They are declared once, in `envprobe.cli.export`, with envprobe's shared
flags; this module lends them to the exporter's standalone entry point.
"""

from __future__ import annotations

from envprobe.cli.export import register

__all__ = ["register"]
