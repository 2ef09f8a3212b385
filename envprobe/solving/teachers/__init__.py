"""Turn one failed probe into rules the next round must obey: one teacher per failure kind."""

from envprobe.solving.teachers.common import Lesson, Reprobe, Scanner
from envprobe.solving.teachers.teacher import Teacher

__all__ = ["Lesson", "Reprobe", "Scanner", "Teacher"]
