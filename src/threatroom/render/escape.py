"""Escaping user text for the formats it is rendered into."""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def md_inline(text: str) -> str:
    """Text safe inside a Markdown paragraph or table cell: no HTML, links, emphasis or row breaks."""
    text = " ".join(str(text).split())
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
