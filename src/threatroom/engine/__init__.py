"""The analysis engine: facts, rule matching, DREAD in context, merging and ranking."""

from .analyze import Match, analyze, match

__all__ = ["Match", "analyze", "match"]
