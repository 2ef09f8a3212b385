"""Errors the user can act on.

Every exception here carries a one-line message meant for a person; the CLI
prints it and exits 2 (bad input) instead of showing a traceback.
"""

from __future__ import annotations

__all__ = [
    "EnvironmentSetupError",
    "EnvprobeError",
    "IndexUnreachable",
    "ScenarioError",
    "StoreError",
    "UnknownPackage",
    "UsageError",
]


class EnvprobeError(Exception):
    """Base class: a problem with the user's input or surroundings, not a bug."""

    exit_code = 2


class UsageError(EnvprobeError):
    """Malformed arguments: a bad pin, an unknown option value, an unreadable file."""


class ScenarioError(EnvprobeError):
    """A scenario file that does not validate; the message names the file and key."""


class UnknownPackage(EnvprobeError):
    """The index and every find-links folder answered, and none knows the project."""


class IndexUnreachable(EnvprobeError):
    """The configured package index could not be reached at all."""


class EnvironmentSetupError(EnvprobeError):
    """A throwaway environment could not be created (interpreter missing, disk full)."""


class StoreError(EnvprobeError):
    """The store cannot be used as it is: damaged, a folder, missing, read-only, locked.

    The message names the file and how to recover; the file is never replaced.
    """
