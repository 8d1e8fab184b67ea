"""threatroom: offline, grounded threat modeling.

    >>> from threatroom import analyze_file
    >>> result = analyze_file("system.yaml")          # doctest: +SKIP
    >>> result.threats[0].title                         # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from pathlib import Path  # noqa: E402

from .engine import analyze  # noqa: E402
from .errors import AnalysisError, InputError, KnowledgeError, ThreatroomError  # noqa: E402
from .ingest import load_input  # noqa: E402
from .knowledge import KnowledgeBase, load_knowledge  # noqa: E402
from .model import SystemModel, ThreatModel  # noqa: E402


def analyze_file(path: str | Path, kb_dirs: tuple[str | Path, ...] = ()) -> ThreatModel:
    """Load an architecture file and analyse it with the built-in plus extra knowledge."""
    return analyze(load_input(path), load_knowledge(kb_dirs))


__all__ = [
    "AnalysisError",
    "InputError",
    "KnowledgeBase",
    "KnowledgeError",
    "SystemModel",
    "ThreatModel",
    "ThreatroomError",
    "__version__",
    "analyze",
    "analyze_file",
    "load_input",
    "load_knowledge",
]
