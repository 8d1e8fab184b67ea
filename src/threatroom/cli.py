"""The ``threatroom`` command line: a thin face over the library.

Exit codes: 0 success; 1 the analysis failed; 2 bad input (unreadable or invalid model,
invalid knowledge folder, wrong usage). Results go to stdout or ``-o FILE``; progress
and errors go to stderr.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import __version__
from .engine import analyze as run_analysis
from .engine.fixtures import check_fixtures
from .errors import InputError, KnowledgeError, ThreatroomError
from .ingest import load_input
from .knowledge import BUILTIN_DIR, KnowledgeBase, load_knowledge
from .model import SystemModel, ThreatModel
from .render import print_table, to_markdown
from .render.jsonout import iter_json
from .render.yamlout import to_yaml
from .cli_llm import BaseUrlOpt, ExtractOpt, KeyFileOpt, LlmFlags, LlmOpt, MaxCostOpt, MaxTokensOpt, NoCacheOpt, analysed, extracted, usage_line

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_PARTIAL = 0, 1, 2, 3

app = typer.Typer(
    name="threatroom",
    help="Offline, grounded threat modeling: architecture in, STRIDE/DREAD threat register out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
kb_app = typer.Typer(help="Inspect and validate the knowledge base.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")


class Format(StrEnum):
    json = "json"
    markdown = "markdown"
    table = "table"


KbOpt = Annotated[list[Path] | None, typer.Option("--kb", help="Extra knowledge folder (repeatable).")]


def _err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _publish(tmp: str, output: Path) -> None:
    """Move a finished temporary file into place with the usual permissions (umask applied)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    os.replace(tmp, output)


def _atomic(output: Path, data: Iterable[str] | bytes) -> None:
    """Write a file through a temporary one, so a failure never leaves half a result."""
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    try:
        if isinstance(data, bytes):
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                for chunk in data:
                    fh.write(chunk)
        _publish(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write(text: str | Iterable[str], output: Path | None) -> None:
    """Write to stdout, or atomically to a file."""
    chunks = [text] if isinstance(text, str) else text
    if output is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        sys.stdout.flush()
        return
    _atomic(output, chunks)


def _analysed(input: Path, kb: list[Path] | None) -> tuple[KnowledgeBase, ThreatModel]:
    """Load the knowledge, read the input and analyse it: what most commands start with."""
    knowledge = load_knowledge(kb or ())
    return knowledge, run_analysis(load_input(input, knowledge), knowledge)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(f"threatroom {__version__}")
        raise typer.Exit(EXIT_OK)


@app.command()
def analyze(
    input: Annotated[Path, typer.Argument(help="Architecture: plain words (.txt, .md) or a YAML/JSON model.", show_default=False)],
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the result to this file.")] = None,
    kb: KbOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
    llm: LlmOpt = None,
    llm_base_url: BaseUrlOpt = None,
    llm_key_file: KeyFileOpt = None,
    llm_extract: ExtractOpt = False,
    no_llm_cache: NoCacheOpt = False,
) -> int:
    """Analyse an architecture and print its threat register."""
    err = _err()
    t0 = time.perf_counter()
    knowledge = load_knowledge(kb or ())
    # on analyze, the LLM's only job is extraction: --llm implies --llm-extract
    runtime = LlmFlags(llm, llm_base_url, llm_key_file, extract=llm_extract or llm is not None, no_cache=no_llm_cache).runtime(extraction_only=True)
    result = analysed(input, knowledge, runtime)
    dt = time.perf_counter() - t0
    if not quiet:
        c = knowledge.counts()
        err.print(
            Text(
                f"threatroom: {len(result.components)} components, {len(result.flows)} flows -> "
                f"{result.summary.total} threats in {dt:.2f}s "
                f"(knowledge: {c['technologies']} technologies, {c['threats']} rules)"
            )
        )
        for w in result.warnings:
            err.print(Text(f"warning: {w.message}", style="yellow"))
        if runtime is not None:
            err.print(Text(usage_line(runtime)))
    if format is Format.json:
        _write(iter_json(result), output)
    elif format is Format.markdown:
        _write(to_markdown(result), output)
    elif output is not None:
        buf = Console(record=True, width=160, file=io.StringIO(), color_system=None)
        print_table(result, buf)
        _write(buf.export_text(), output)
    else:
        print_table(result, Console(highlight=False))
    return EXIT_OK


class DiscussFormat(StrEnum):
    markdown = "markdown"
    json = "json"


@app.command()
def discuss(
    input: Annotated[Path, typer.Argument(help="Architecture: plain words or a YAML/JSON model.", show_default=False)],
    format: Annotated[DiscussFormat, typer.Option("--format", "-f", help="Format of the record.")] = DiscussFormat.markdown,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the record to this file.")] = None,
    topology: Annotated[Path | None, typer.Option("--topology", help="Team topology YAML (default: the original A/B teams).")] = None,
    join: Annotated[str | None, typer.Option("--join", help="Take a seat yourself: a member name (A2) or a role (engineer).")] = None,
    max_rounds: Annotated[int | None, typer.Option("--max-rounds", min=2, max=500, help="Stop after this many turns.")] = None,
    kb: KbOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the conversation as it happens.")] = False,
    llm: LlmOpt = None,
    llm_base_url: BaseUrlOpt = None,
    llm_key_file: KeyFileOpt = None,
    max_cost: MaxCostOpt = None,
    max_tokens: MaxTokensOpt = None,
    llm_extract: ExtractOpt = False,
    no_llm_cache: NoCacheOpt = False,
) -> int:
    """Run the stakeholder team's discussion of the threat model (offline, or with --llm)."""
    from .agents import HumanAgent, discuss as run_discussion, load_topology
    from .render.discussion import discussion_json, discussion_markdown, print_message, print_roles

    knowledge = load_knowledge(kb or ())
    topo = load_topology(topology)
    runtime = LlmFlags(llm, llm_base_url, llm_key_file, max_cost, max_tokens, llm_extract, no_llm_cache).runtime()
    result = analysed(input, knowledge, runtime)
    screen = Console(stderr=True, highlight=False)  # the live conversation is progress; the record is the result
    seats = {}
    if join:
        member = topo.member(join) or next((m for m in topo.members() if m.role.value == join.lower().replace(" ", "_")), None)
        if member is None:
            raise InputError(f"no member or role '{join}' in topology {topo.name}: choose one of " + ", ".join(f"{m.name} ({m.role.value})" for m in topo.members()), "--join")
        seats[member.name] = HumanAgent(_terminal_seat(screen))
    show = None if quiet else (lambda m: print_message(m, screen))
    if runtime is None:
        record = run_discussion(result, knowledge, topology=topo, agents=seats, max_rounds=max_rounds, on_message=show)
    else:
        from .llm.session import llm_discuss

        result, record = llm_discuss(result, knowledge, runtime, topology=topo, seats=seats, max_rounds=max_rounds, on_message=show)
    if not quiet:
        print_roles(record, screen)
        if runtime is not None:
            screen.print(Text(usage_line(runtime)))
    _write(discussion_json(record) if format is DiscussFormat.json else discussion_markdown(record), output)
    return _partial(record)


def _partial(record) -> int:
    """Exit 3 when the discussion stopped early (budget, cancel): the record was written, marked partial."""
    if record is not None and record.partial:
        _err().print(Text(f"partial result: {record.stop_reason}", style="yellow"))
        return EXIT_PARTIAL
    return EXIT_OK


def _terminal_seat(screen: Console):
    def ask(ctx) -> str:
        allowed = [m.name for m in ctx.topology.members() if ctx.topology.allowed(ctx.member.name, m.name)]
        screen.print(Text(f"Your turn as {ctx.member.name} ({ctx.member.role.value}). End with 'NEXT: <name>' "
                          f"({', '.join(allowed)}) or 'TERMINATE'; an empty line sends.", style="bold"))
        lines = []
        while True:
            try:
                line = input()
            except EOFError:
                break
            if not line.strip():
                break
            lines.append(line)
        return "\n".join(lines)

    return ask


REPORT_FORMATS = ("html", "pdf", "markdown", "json", "sarif", "csv", "feature")
SUFFIX = {"html": ".html", "pdf": ".pdf", "markdown": ".md", "json": ".json", "sarif": ".sarif", "csv": ".csv", "feature": ".feature"}


@app.command()
def report(
    input: Annotated[Path, typer.Argument(help="Architecture: plain words or a YAML/JSON model.", show_default=False)],
    format: Annotated[list[str] | None, typer.Option("--format", "-f", help="html, pdf, markdown, json, sarif, csv or feature (Gherkin); repeatable.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write; with several formats, the base name.")] = None,
    goal: Annotated[list[str] | None, typer.Option("--goal", help="Attack-tree goal (repeatable; default: derived from the assets).")] = None,
    no_discussion: Annotated[bool, typer.Option("--no-discussion", help="Leave the stakeholder discussion out.")] = False,
    kb: KbOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    llm: LlmOpt = None,
    llm_base_url: BaseUrlOpt = None,
    llm_key_file: KeyFileOpt = None,
    max_cost: MaxCostOpt = None,
    max_tokens: MaxTokensOpt = None,
    llm_extract: ExtractOpt = False,
    no_llm_cache: NoCacheOpt = False,
) -> int:
    """Write the full report: summary, model, DFD, register, attack trees, discussion, plan, tests, appendix."""
    from .render.report import build_report, to_html, to_json_report, to_markdown_report, to_pdf

    formats = [f.lower() for f in (format or ["html"])]
    bad = [f for f in formats if f not in REPORT_FORMATS]
    if bad:
        raise InputError(f"unknown format {', '.join(bad)}; choose from {', '.join(REPORT_FORMATS)}", "--format")
    if output is None and (len(formats) > 1 or "pdf" in formats):
        raise InputError("give -o FILE: several formats or a PDF cannot go to the terminal", "--output")
    t0 = time.perf_counter()
    knowledge = load_knowledge(kb or ())
    runtime = LlmFlags(llm, llm_base_url, llm_key_file, max_cost, max_tokens, llm_extract, no_llm_cache).runtime()
    result = analysed(input, knowledge, runtime)
    record = None
    if runtime is not None and not no_discussion:
        from .llm.session import llm_discuss

        result, record = llm_discuss(result, knowledge, runtime)
    needs_report = bool({"html", "pdf", "markdown", "json"} & set(formats))
    rep = None
    if needs_report:
        source_text = input.read_text(encoding="utf-8", errors="replace")[:500_000]
        rep = build_report(result, knowledge, source_name=input.name, source_text=source_text, discussion=record,
                           with_discussion=not no_discussion, goals=goal)
    for fmt in formats:
        target = output if output is None or len(formats) == 1 else output.with_suffix(SUFFIX[fmt])
        if fmt == "html":
            _write(to_html(rep), target)  # type: ignore[arg-type]
        elif fmt == "markdown":
            _write(to_markdown_report(rep), target)  # type: ignore[arg-type]
        elif fmt == "pdf":
            _atomic(target, to_pdf(rep))  # type: ignore[arg-type]
        elif fmt == "json":
            _write(to_json_report(rep), target)  # type: ignore[arg-type]
        elif fmt == "sarif":
            from .render.sarif import to_sarif

            _write(to_sarif(result, str(input)), target)
        elif fmt == "csv":
            from .render.csvout import to_csv

            _write(to_csv(result), target)
        elif fmt == "feature":
            from .render.gherkin import feature_file

            _write(feature_file(result), target)
        if not quiet and target is not None:
            _err().print(Text(f"wrote {target}"))
    if not quiet:
        if runtime is not None:
            _err().print(Text(usage_line(runtime)))
        _err().print(Text(f"threatroom: report in {time.perf_counter() - t0:.2f}s"))
    return _partial(record)


class DiagramFormat(StrEnum):
    svg = "svg"
    png = "png"
    dot = "dot"
    mermaid = "mermaid"
    json = "json"


def _diagram_out(text: str, fmt: DiagramFormat, output: Path | None) -> None:
    if fmt in (DiagramFormat.svg, DiagramFormat.png):
        from .render.graphviz import render_dot

        data = render_dot(text, fmt.value)
        if fmt is DiagramFormat.png:
            if output is None:
                raise InputError("give -o FILE for a PNG", "--output")
            _atomic(output, data)
            return
        text = data.decode("utf-8")
    _write(text if text.endswith("\n") else text + "\n", output)


@app.command()
def dfd(
    input: Annotated[Path, typer.Argument(help="Architecture: plain words or a YAML/JSON model.", show_default=False)],
    format: Annotated[DiagramFormat, typer.Option("--format", "-f", help="svg, png, dot or mermaid.")] = DiagramFormat.svg,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    kb: KbOpt = None,
) -> int:
    """Draw the data-flow diagram: DFD shapes, trust zones, numbered flows, severity colours."""
    from .render.dfd import dfd_dot, dfd_mermaid

    _, result = _analysed(input, kb)
    if format is DiagramFormat.json:
        raise InputError("the DFD comes as svg, png, dot or mermaid", "--format")
    _diagram_out(dfd_mermaid(result) if format is DiagramFormat.mermaid else dfd_dot(result), format, output)
    return EXIT_OK


@app.command("attack-tree")
def attack_tree(
    input: Annotated[Path, typer.Argument(help="Architecture: plain words or a YAML/JSON model.", show_default=False)],
    goal: Annotated[str | None, typer.Option("--goal", help="The attacker's goal, e.g. 'user data stolen' (default: derived from the assets).")] = None,
    format: Annotated[DiagramFormat, typer.Option("--format", "-f", help="svg, png, dot, mermaid or json.")] = DiagramFormat.svg,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    kb: KbOpt = None,
) -> int:
    """Build an AND/OR attack tree for a goal from the threat register."""
    from .engine.attack_trees import build_attack_tree, default_goals
    from .render.attack_tree import attack_tree_dot, attack_tree_json, attack_tree_mermaid

    _, result = _analysed(input, kb)
    goals = default_goals(result)
    tree = build_attack_tree(result, goal or (goals[0] if goals else "Compromise the system"))
    text = {DiagramFormat.json: attack_tree_json, DiagramFormat.mermaid: attack_tree_mermaid}.get(format, attack_tree_dot)(tree)
    _diagram_out(text, format, output)
    return EXIT_OK


@app.command()
def extract(
    input: Annotated[Path, typer.Argument(help="Architecture: plain words or a YAML/JSON model.", show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the model to this file.")] = None,
    kb: KbOpt = None,
    llm: LlmOpt = None,
    llm_base_url: BaseUrlOpt = None,
    llm_key_file: KeyFileOpt = None,
    no_llm_cache: NoCacheOpt = False,
) -> int:
    """Print the model extracted from the input as YAML, to correct and feed back to analyze.

    With --llm, the LLM proposes what the reader missed; only proposals that quote the text are kept."""
    knowledge = load_knowledge(kb or ())
    runtime = LlmFlags(llm, llm_base_url, llm_key_file, extract=llm is not None, no_cache=no_llm_cache).runtime(extraction_only=True)
    model, findings = extracted(input, knowledge, runtime)
    for f in findings:
        _err().print(Text(f"{f.code}: {f.message}", style="yellow"))
    _write(to_yaml(model, str(input)), output)
    return EXIT_OK


@app.command()
def schema(
    result: Annotated[bool, typer.Option("--result", help="Schema of the analysis result instead of the input model.")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> int:
    """Print the JSON Schema of the input model (or, with --result, of the JSON output)."""
    model = ThreatModel if result else SystemModel
    mode = "serialization" if result else "validation"
    _write(json.dumps(model.model_json_schema(mode=mode), indent=2, sort_keys=True) + "\n", output)
    return EXIT_OK


@kb_app.command("list")
def kb_list(
    section: Annotated[str, typer.Option("--section", "-s", help="threats, technologies, mitigations or tags.")] = "threats",
    kb: KbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> int:
    """List the knowledge base's entries."""
    knowledge = load_knowledge(kb or ())
    rows: list[tuple[str, str, str]]
    if section == "threats":
        rows = [(r.id, r.stride.value, r.title) for r in knowledge.threats]
    elif section == "technologies":
        rows = [(t.id, t.type.value if t.type else "facet of " + ", ".join(h.value for h in t.hosts), t.name) for t in knowledge.technologies.values()]
    elif section == "mitigations":
        rows = [(m.id, "", m.title) for m in knowledge.mitigations.values()]
    elif section == "tags":
        rows = [(t.id, "", t.description) for t in knowledge.tags.values()]
    else:
        raise InputError(f"unknown section '{section}'; use threats, technologies, mitigations or tags", "--section")
    if as_json:
        _write(json.dumps([{"id": a, "kind": b, "title": c} for a, b, c in rows], indent=2) + "\n", None)
        return EXIT_OK
    table = Table(title=Text(f"{len(rows)} {section}"))
    for col in ("id", "kind", "title"):
        table.add_column(col)
    for a, b, c in rows:
        table.add_row(Text(a), Text(b), Text(c))
    Console(highlight=False).print(table)
    return EXIT_OK


@kb_app.command("show")
def kb_show(entry_id: Annotated[str, typer.Argument(metavar="ID")], kb: KbOpt = None) -> int:
    """Show one technology, threat rule, mitigation or tag as YAML."""
    knowledge = load_knowledge(kb or ())
    found = (
        next((r for r in knowledge.threats if r.id == entry_id), None)
        or knowledge.technologies.get(entry_id)
        or knowledge.mitigations.get(entry_id)
        or knowledge.tags.get(entry_id)
    )
    if found is None:
        raise InputError(f"no technology, threat, mitigation or tag with id '{entry_id}'", "kb show")
    data = found.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    _write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), None)
    return EXIT_OK


@kb_app.command("validate")
def kb_validate(folder: Annotated[Path, typer.Argument(help="Knowledge folder to check with the built-in one.")]) -> int:
    """Validate a knowledge folder: schema, duplicates, references, and its rules' fixtures."""
    err = _err()
    builtin = BUILTIN_DIR.resolve()
    if folder.resolve() == builtin or builtin in folder.resolve().parents:
        base_ids: set[str] = set()
        knowledge = load_knowledge()  # a built-in folder: checked as part of the built-ins
    else:
        base_ids = {r.id for r in load_knowledge().threats}
        knowledge = load_knowledge([folder])
    mine = {r.id for r in knowledge.threats} - base_ids
    failures = check_fixtures(knowledge, mine)
    for f in failures:
        err.print(Text(f"fixture: {f}", style="red"))
    c = knowledge.counts()
    print(f"{folder}: valid; {len(mine)} rules of its own, fixtures: {len(failures)} failure(s); with built-ins: {c}")
    return EXIT_BAD_INPUT if failures else EXIT_OK


from .cli_service import register as _register_service  # noqa: E402 - the service commands join the same app

_register_service(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (never raises for expected errors)."""
    err = _err()
    from contextlib import ExitStack

    from .cli_llm import CLEANUP

    stack = ExitStack()
    token = CLEANUP.set(stack)
    try:
        with stack:
            rv = app(args=argv, prog_name="threatroom", standalone_mode=False)
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except (typer.Abort, KeyboardInterrupt):
        err.print("cancelled")
        return 130
    except typer.TyperException as exc:  # usage errors: unknown command, bad option value...
        show = getattr(exc, "show", None)
        if callable(show):
            show(file=sys.stderr)
        else:
            err.print(Text(f"error: {exc}", style="red"))
        return EXIT_BAD_INPUT
    except (InputError, KnowledgeError) as exc:
        err.print(Text(f"error: {exc}", style="red"))
        return EXIT_BAD_INPUT
    except ThreatroomError as exc:
        err.print(Text(f"analysis failed: {exc}", style="red"))
        return EXIT_FAILED
    except OSError as exc:
        err.print(Text(f"error: {exc}", style="red"))
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - last line of defence: a message, not a traceback
        err.print(Text(f"internal error ({type(exc).__name__}): {exc}; please report it", style="red"))
        return EXIT_FAILED
    finally:
        CLEANUP.reset(token)
    if rv == 130:  # Ctrl-C: the CLI framework turns it into this exit code
        err.print("cancelled")
    return rv if isinstance(rv, int) else EXIT_OK


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
