"""The exception tree.

``InputError`` and ``KnowledgeError`` mean "you used it wrong" (bad input, bad rule
file); ``AnalysisError`` means "the run failed". The CLI maps them to exit codes 2, 2
and 1; nothing else in the library decides how errors are shown.
"""

from __future__ import annotations

from dataclasses import dataclass


class ThreatroomError(Exception):
    """Base of every error threatroom raises on purpose."""


@dataclass(frozen=True)
class InputProblem:
    """One thing wrong with an input document: where, and what."""

    source: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.path}" if self.path else self.source
        return f"{where}: {self.message}"


class InputError(ThreatroomError):
    """The input cannot be analysed as given."""

    def __init__(self, problems: list[InputProblem] | str, source: str = "<input>") -> None:
        if isinstance(problems, str):
            problems = [InputProblem(source, "", problems)]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class KnowledgeProblem:
    file: str
    line: int
    entry: str | None
    message: str

    def __str__(self) -> str:
        entry = f" [{self.entry}]" if self.entry else ""
        return f"{self.file}:{self.line}{entry}: {self.message}"


class KnowledgeError(ThreatroomError):
    """A knowledge file is malformed, duplicated or refers to something that does not exist."""

    def __init__(self, problems: list[KnowledgeProblem]) -> None:
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:50])
        more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} problem(s) in the knowledge base:\n{shown}{more}")


class AnalysisError(ThreatroomError):
    """The analysis could not be completed."""


class RunStopped(AnalysisError):
    """The run stopped before the end; what was done so far is kept and marked partial."""

    status = "stopped"


class BudgetExceeded(RunStopped):
    """The LLM budget (--max-cost, --max-tokens) was reached."""

    status = "budget_exceeded"


class Cancelled(RunStopped):
    """The run was cancelled."""

    status = "cancelled"
