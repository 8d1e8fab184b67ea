"""Knowledge as data: technology catalog, threat library and mitigations."""

from .base import KnowledgeBase, normalize_name
from .loader import BUILTIN_DIR, load_knowledge

__all__ = ["BUILTIN_DIR", "KnowledgeBase", "load_knowledge", "normalize_name"]
