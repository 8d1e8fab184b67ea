"""Resolve technology names to catalog ids and report what the catalog does not know."""

from __future__ import annotations

from ..knowledge.base import KnowledgeBase
from ..model.system import SystemModel
from ..model.threats import Finding


def normalize(model: SystemModel, kb: KnowledgeBase) -> tuple[SystemModel, list[Finding]]:
    """A copy of ``model`` with technologies and facets as catalog ids, plus warnings."""
    warnings: list[Finding] = []
    components = []
    for i, c in enumerate(model.components):
        update: dict[str, object] = {}
        if c.technology:
            tid = kb.resolve(c.technology)
            if tid is None:
                warnings.append(
                    Finding(
                        code="unknown-technology",
                        message=f"technology '{c.technology}' of '{c.name}' is not in the catalog; "
                        f"only threats for its type ({c.type.value}) apply",
                        path=f"components[{i}].technology",
                    )
                )
            elif tid != c.technology:
                update["technology"] = tid
        facets: list[str] = []
        for j, f in enumerate(c.facets):
            fid = kb.resolve(f)
            if fid is None:
                warnings.append(
                    Finding(
                        code="unknown-technology",
                        message=f"facet '{f}' of '{c.name}' is not in the catalog and is ignored by the rules",
                        path=f"components[{i}].facets[{j}]",
                    )
                )
                facets.append(f)
            elif fid not in facets:
                facets.append(fid)
        if facets != c.facets:
            update["facets"] = facets
        components.append(c.model_copy(update=update) if update else c)
    return model.model_copy(update={"components": components}), warnings
