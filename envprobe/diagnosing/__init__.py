"""Diagnose the environment a user already has: read it, explain the failure, fix it."""

from envprobe.diagnosing.diagnose import DiagnoseRequest, diagnose

__all__ = ["DiagnoseRequest", "diagnose"]
