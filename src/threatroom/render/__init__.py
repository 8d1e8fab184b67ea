"""Turning a ThreatModel into text for people and tools."""

from .jsonout import to_json
from .markdown import to_markdown
from .table import print_table

FORMATS = ("json", "markdown", "table")

__all__ = ["FORMATS", "print_table", "to_json", "to_markdown"]
