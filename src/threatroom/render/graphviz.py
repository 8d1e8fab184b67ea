"""Running a Graphviz layout engine on DOT text to get SVG or PNG.

The ``dot`` executable is used when it is on PATH; otherwise the ``graphviz-pure``
executable installed by the PyPI package of that name (next to the running Python,
or on PATH). The DOT text goes in on stdin; the command line holds only the program
and the output format, never user text; no shell is involved.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Literal

from ..errors import AnalysisError

Format = Literal["svg", "png"]
FORMATS: tuple[Format, ...] = ("svg", "png")
TIMEOUT_S = 30.0
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
INSTALL_HINT = "pip install graphviz-pure"


def find_renderer() -> str | None:
    """Path of the executable that will render DOT, or None when there is none.

    Order: ``dot`` on PATH, ``graphviz-pure`` next to ``sys.executable``, then
    ``graphviz-pure`` on PATH."""
    dot = shutil.which("dot")
    if dot:
        return dot
    suffix = ".exe" if os.name == "nt" else ""
    scripts = Path(sys.executable).parent
    for folder in (scripts, scripts / "Scripts", scripts / "bin"):
        candidate = folder / f"graphviz-pure{suffix}"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("graphviz-pure")


def render_dot(dot: str, fmt: Format = "svg", timeout: float = TIMEOUT_S) -> bytes:
    """Lay out ``dot`` and return the rendered ``svg`` or ``png`` bytes.

    Raises :class:`AnalysisError` when no renderer is installed (naming
    ``pip install graphviz-pure``), when the renderer fails or times out, or when
    its output is not the requested format."""
    if fmt not in FORMATS:
        raise AnalysisError(f"unsupported diagram format '{fmt}': expected one of {', '.join(FORMATS)}")
    exe = find_renderer()
    if exe is None:
        raise AnalysisError(
            "no Graphviz renderer found: install Graphviz (the 'dot' program) "
            f"or run '{INSTALL_HINT}'"
        )
    try:
        proc = subprocess.run(  # noqa: S603 - fixed argv, no shell, DOT on stdin
            [exe, f"-T{fmt}"],
            input=dot.encode("utf-8", errors="replace"),
            capture_output=True,
            timeout=timeout,
            check=False,
            shell=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AnalysisError(f"the diagram renderer ({Path(exe).name}) took longer than {timeout:g} s") from exc
    except OSError as exc:
        raise AnalysisError(f"could not run the diagram renderer ({exe}): {exc}") from exc
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", errors="replace").strip()[:2000]
        raise AnalysisError(
            f"the diagram renderer ({Path(exe).name}) failed with exit status {proc.returncode}"
            + (f": {detail}" if detail else "")
        )
    out = proc.stdout
    if fmt == "png" and not out.startswith(PNG_SIGNATURE):
        raise AnalysisError(f"the diagram renderer ({Path(exe).name}) did not produce a PNG image")
    if fmt == "svg" and b"<svg" not in out[:4096]:
        raise AnalysisError(f"the diagram renderer ({Path(exe).name}) did not produce an SVG document")
    return out
