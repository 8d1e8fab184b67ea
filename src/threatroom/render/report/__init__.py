"""Reports: one content model (build.py), laid out as HTML, PDF or Markdown."""

import json

from .build import Report, build_report
from .html import to_html
from .markdown import to_markdown_report
from .pdf import to_pdf


def to_json_report(rep: Report) -> str:
    """The JSON contract plus the discussion, the attack trees and the test cases."""
    data = json.loads(rep.result.model_dump_json())
    data["discussion"] = json.loads(rep.discussion.model_dump_json()) if rep.discussion else None
    data["attack_trees"] = [json.loads(t.json) for t in rep.trees]
    data["test_cases"] = rep.feature
    return json.dumps(data, indent=2) + "\n"


__all__ = ["Report", "build_report", "to_html", "to_json_report", "to_markdown_report", "to_pdf"]
