"""Reports: one content model (build.py), laid out as HTML, PDF or Markdown."""

from .build import Report, build_report
from .html import to_html
from .markdown import to_markdown_report
from .pdf import to_pdf

__all__ = ["Report", "build_report", "to_html", "to_markdown_report", "to_pdf"]
