"""envprobe: find package sets that really import, with evidence."""

__version__ = "0.1.0"
