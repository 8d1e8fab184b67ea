"""Find what a plain-words description mentions: sentences, catalog technologies,
generic components, actors, and the lexicon's other words, each with its character span.

Catalog names and aliases are matched on word tokens through a trie (longest match,
plural-tolerant, separators ignored: 'Flask-Login', 'flask login' and 'Flask Login' are
one name). Lexicon patterns are regular expressions from the knowledge base.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from ...knowledge.base import KnowledgeBase
from ...knowledge.schema import LexiconEntry

_TOKEN = re.compile(r"[^\W_]+")
_GAP_OK = re.compile(r"^(?:[ \t\-_/+'’]{1,3}|\.)$")
_SENTENCE_END = re.compile(
    r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9\"'(\[*#-])|\n\s*\n|\n\s*(?:[-*•]|\d+[.)])\s+|;\s+"
)
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|approx|incl|esp|cf|mr|mrs|ms|dr|st|no)|\b[A-Z])\.$", re.I)


@dataclass(frozen=True)
class Sentence:
    index: int
    start: int
    end: int


@dataclass
class Mention:
    """A span of the text that names something."""

    start: int
    end: int
    text: str
    sentence: int
    kind: str  # "tech", "component", "actor"
    tech_id: str | None = None
    entry: LexiconEntry | None = None
    component: str | None = field(default=None, compare=False)  # resolved component id
    inner: LexiconEntry | None = field(default=None, compare=False)  # a generic word inside the name ("... Web API")


@dataclass(frozen=True)
class Hit:
    """A lexicon word (data class, auth, feature, relation, hosting, zone) in the text."""

    start: int
    end: int
    sentence: int
    entry: LexiconEntry


def sentences(text: str) -> list[Sentence]:
    out: list[Sentence] = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        if _ABBREVIATION.search(text[max(0, m.start() - 8) : m.start()].rstrip("\"')]")):
            continue
        if text[pos : m.start()].strip():
            out.append(Sentence(len(out), pos, m.start()))
        pos = m.end()
    if text[pos:].strip():
        out.append(Sentence(len(out), pos, len(text)))
    return out


def _key(name: str) -> tuple[str, ...]:
    return tuple(t.lower() for t in _TOKEN.findall(name))


@dataclass(frozen=True)
class Lexicon:
    """Compiled matchers for one knowledge base (built once and cached)."""

    trie: dict
    ambiguous: frozenset[str]
    components: list[tuple[LexiconEntry, re.Pattern[str]]]
    words: list[tuple[LexiconEntry, re.Pattern[str]]]


def _compile(entry: LexiconEntry) -> re.Pattern[str]:
    body = "|".join(f"(?:{p})" for p in entry.patterns)
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE)


def _gaps(name: str) -> tuple[str, ...]:
    """How the tokens of a name are joined: '.', '/' and '+' must be written as such."""
    spans = [m.span() for m in _TOKEN.finditer(name)]
    out = []
    for (_, e), (s2, _) in zip(spans, spans[1:]):
        gap = name[e:s2]
        out.append(next((c for c in "./+" if c in gap and not gap.strip(" " + c)), "sep"))
    return tuple(out)


def _gap_class(gap: str) -> str:
    return next((c for c in "./+" if c in gap), "sep")


@lru_cache(maxsize=8)
def lexicon_for(kb: KnowledgeBase) -> Lexicon:
    comps = [(e, _compile(e)) for e in kb.lexicon if e.kind in ("component", "actor")]
    words = [(e, _compile(e)) for e in kb.lexicon if e.kind not in ("component", "actor", "ambiguous")]
    trie: dict = {}
    for tech in kb.technologies.values():
        for name in (tech.name, *tech.aliases, tech.id):
            key = _key(name)
            if not key or (len(key) == 1 and len(key[0]) < 2):
                continue
            node = trie
            for tok in key:
                node = node.setdefault(tok, {})
            ends = node.setdefault("$", {})
            # A name that is also an everyday phrase ("API Gateway", "Linux server") is
            # taken only when written capitalized.
            generic = name != tech.id and any(rx.fullmatch(name) for _, rx in comps)
            ends.setdefault(_gaps(name), (tech.id, generic))
    ambiguous = frozenset(p.lower() for e in kb.lexicon if e.kind == "ambiguous" for p in e.patterns)
    return Lexicon(trie, ambiguous, comps, words)


def _sentence_of(starts: list[int], pos: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= pos:
            lo = mid
        else:
            hi = mid - 1
    return lo


def find_technologies(text: str, lex: Lexicon, sents: list[Sentence]) -> list[Mention]:
    tokens = [(m.start(), m.end(), m.group().lower()) for m in _TOKEN.finditer(text)]
    starts = [s.start for s in sents]
    found: list[Mention] = []
    i = 0
    while i < len(tokens):
        node, j, ends = lex.trie, i, []
        gaps: list[str] = []
        while j < len(tokens):
            if j > i:
                gap = text[tokens[j - 1][1] : tokens[j][0]]
                if not _GAP_OK.match(gap):
                    break
                gaps.append(_gap_class(gap))
            tok = tokens[j][2]
            nxt = node.get(tok)
            if nxt is None and len(tok) > 3 and tok.endswith("s"):
                nxt = node.get(tok[:-1]) or (node.get(tok[:-2]) if tok.endswith("es") else None)
            if nxt is None:
                break
            node = nxt
            if "$" in node and tuple(gaps) in node["$"]:
                ends.append((j, *node["$"][tuple(gaps)]))
            j += 1
        chosen = None
        for j, tech_id, generic in reversed(ends):  # longest acceptable name wins
            s, e = tokens[i][0], tokens[j][1]
            capital = any(ch.isupper() for ch in text[s:e])
            word = tokens[i][2]
            plain = j == i and (word in lex.ambiguous or word.rstrip("s") in lex.ambiguous)
            if (generic or plain) and not capital:
                continue
            chosen = (j, tech_id)
            break
        if chosen is None:
            i += 1
            continue
        j, tech_id = chosen
        s, e = tokens[i][0], tokens[j][1]
        found.append(Mention(s, e, text[s:e], _sentence_of(starts, s), "tech", tech_id=tech_id))
        i = j + 1
    return found


def find_components(text: str, lex: Lexicon, sents: list[Sentence], taken: list[Mention]) -> list[Mention]:
    """Generic components and actors not inside (or glued to) a technology mention."""
    starts = [s.start for s in sents]
    candidates: list[Mention] = []
    for entry, rx in lex.components:
        for m in rx.finditer(text):
            candidates.append(
                Mention(m.start(), m.end(), m.group(), _sentence_of(starts, m.start()), entry.kind, entry=entry)
            )
    # Longest first, then leftmost; drop overlaps.
    candidates.sort(key=lambda m: (-(m.end - m.start), m.start))
    chosen: list[Mention] = []
    for m in candidates:
        if any(m.start < o.end and o.start < m.end for o in chosen):
            continue
        chosen.append(m)
    out: list[Mention] = []
    for m in sorted(chosen, key=lambda m: m.start):
        glued = next((t for t in taken if t.end <= m.start <= t.end + 2 and m.sentence == t.sentence), None)
        if glued is not None and m.kind == "component":
            glued.entry = glued.entry or m.entry  # "a MySQL database": the generic word describes the tech
            continue
        inside = next((t for t in taken if t.start <= m.start and m.end <= t.end), None)
        if inside is not None and m.kind == "component":
            inside.inner = inside.inner or m.entry
        if any(m.start < t.end and t.start < m.end for t in taken):
            continue
        out.append(m)
    return out


def find_words(text: str, lex: Lexicon, sents: list[Sentence]) -> list[Hit]:
    starts = [s.start for s in sents]
    hits: list[Hit] = []
    for entry, rx in lex.words:
        for m in rx.finditer(text):
            hits.append(Hit(m.start(), m.end(), _sentence_of(starts, m.start()), entry))
    hits.sort(key=lambda h: (h.start, -h.end, h.entry.id))
    return hits
