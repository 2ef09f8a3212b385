"""Names a command line offers, known without importing what they name.

`envprobe --help` and a probe's start must not pay for the installer
backends, the executors or the scenario parser just to list their names;
each of those modules checks its own names against these (a unit test).
"""

from __future__ import annotations

__all__ = ["AUTO", "EXECUTORS", "INSTALLERS", "MAX_SECONDS"]

AUTO = "auto"  # the installer choice that means: whichever backend is installed
INSTALLERS = (AUTO, "pip", "uv")
EXECUTORS = ("local", "ray")
# A week: longer is a mistake, and process timers take milliseconds in 32 bits.
MAX_SECONDS = 7 * 24 * 3600
