"""Escaping user text for the formats it is rendered into."""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\*_\[\]|~])")
_CODE = re.compile(r"(`[^`\n]+`)")


def md_block(text: str) -> str:
    """Untrusted Markdown (an LLM's message) kept as Markdown, made inert: HTML shows as
    text, and links and images become plain text so nothing loads or lures."""
    text = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("](", "]\\(")


def md_inline(text: str, *, cell: bool = False) -> str:
    """Text safe inside a Markdown paragraph (or, with ``cell``, a table cell): no HTML, no
    links or images, no emphasis, no row breaks. Code spans (`...`) stay code spans."""
    text = " ".join(str(text).split())
    out = []
    for i, part in enumerate(_CODE.split(text)):
        if i % 2:  # a code span: HTML is inert there; in a table cell the separator needs care
            # (GFM reads \| as | inside a table's code span, but shows the backslash elsewhere)
            out.append(part.replace("|", "\\|") if cell else part)
        else:
            part = _MD_SPECIAL.sub(r"\\\1", part)
            out.append(part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    result = "".join(out)
    return "\\" + result if result[:1] in "#>+-=" and result else result


def md_cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return md_inline(text, cell=True)
