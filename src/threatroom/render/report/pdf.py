"""PDF through WeasyPrint (the `pdf` extra): page numbers, repeated table headers."""

from __future__ import annotations

from ...errors import AnalysisError
from .build import Report
from .html import to_html

INSTALL = (
    "PDF needs WeasyPrint and its system libraries: pip install 'threatroom[pdf]', and on Debian/Ubuntu "
    "apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core "
    "(macOS: brew install pango). The other formats work without it."
)


def _pngs(report: Report) -> dict[str, str]:
    """Diagrams as PNG data URIs: WeasyPrint lays out a picture far faster than an SVG."""
    import base64
    from concurrent.futures import ThreadPoolExecutor

    from ...errors import ThreatroomError
    from ..graphviz import render_dot

    drawings = [("dfd", report.dfd_dot, report.dfd_svg)] + [(f"tree{i}", t.dot, t.svg) for i, t in enumerate(report.trees)]
    jobs = [(key, dot) for key, dot, svg in drawings if dot and svg]

    def one(job: tuple[str, str]) -> tuple[str, str | None]:
        key, dot = job
        try:
            png = render_dot(dot.replace("{", "{\n  dpi=96;", 1), "png")
        except ThreatroomError:
            return key, None  # the SVG is used instead
        return key, "data:image/png;base64," + base64.b64encode(png).decode("ascii")

    with ThreadPoolExecutor(max_workers=4) as pool:  # each render is its own process
        return {key: uri for key, uri in pool.map(one, jobs) if uri}


def to_pdf(report: Report) -> bytes:
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: the Python package is there, pango is not
        raise AnalysisError(f"{INSTALL} ({type(exc).__name__}: {exc})") from None
    html = to_html(report, for_print=True, images=_pngs(report))
    try:
        return HTML(string=html, base_url=None).write_pdf()
    except OSError as exc:
        raise AnalysisError(f"{INSTALL} ({exc})") from None
