"""LLM team members: the same seats, protocol and routing rules as the offline team,
with the wording written by a model grounded in the analysed model.

Each turn: the offline agent works out the topology's suggested move and its own
analysis; the model gets both, with the grounded model, as data; it answers with a
validated structured output. When the answer stays invalid after the retries, or the
provider fails, the offline agent takes the turn and the message says so.
"""

from __future__ import annotations

from pydantic_ai import Agent as PydanticAgent
from pydantic_ai import ModelRetry, RunContext
from pydantic_ai.exceptions import AgentRunError, ModelAPIError, ModelAuthenticationError, ModelNotFoundError, UnexpectedModelBehavior

from ..agents.base import Reply, TurnContext
from ..agents.protocol import parse_reply
from ..agents.roles import HEADINGS, analysis, offline_agent
from ..agents.topology import Role
from ..errors import RunStopped
from .grounding import Protocol, data_block, turn_document
from .outputs import ModelerTurnOutput, TurnOutput
from .runtime import DOWN_AFTER, LLMRuntime


def _protocol(ctx: TurnContext, suggested_next: str | None) -> Protocol:
    topo, me = ctx.topology, ctx.member.name
    workers = ctx.workers()
    return Protocol(
        may_address=[m.name for m in topo.members() if topo.allowed(me, m.name)],
        may_terminate=suggested_next is None,
        suggested_next=suggested_next,
        delivered=[w.name for w in workers if ctx.delivered(w.name)],
        pending=[w.name for w in workers if not ctx.delivered(w.name)],
    )


class LLMAgent:
    """A seat whose words come from the model in ``runtime``."""

    def __init__(self, role: Role, runtime: LLMRuntime) -> None:
        self.role = role
        self.runtime = runtime
        self.offline = offline_agent(role)

    def respond(self, ctx: TurnContext) -> Reply:
        rt = self.runtime
        planned = self.offline.respond(ctx)
        planned_text, wanted, terminate = parse_reply(planned.text)
        protocol = _protocol(ctx, None if terminate else wanted)
        if rt.down:
            return self._fallback(planned, f"the LLM is unavailable ({rt.down}); the offline agent took this turn")
        rt.meter.agent = ctx.member.name
        start = len(rt.meter.calls)
        try:
            out = self._ask(ctx, protocol, planned_text)
        except RunStopped:
            raise
        except ModelAPIError as exc:
            rt.provider_failures += 1
            if isinstance(exc, ModelAuthenticationError | ModelNotFoundError):  # will not heal by itself: check key and model name
                rt.down = f"{type(exc).__name__}: check the API key and the model name"
            elif rt.provider_failures >= DOWN_AFTER:
                rt.down = f"{type(exc).__name__} on {rt.provider_failures} turns in a row"
            return self._fallback(planned, f"the LLM request failed ({type(exc).__name__}); the offline agent took this turn", start)
        except (UnexpectedModelBehavior, AgentRunError) as exc:
            why = "its answer stayed invalid after the retries" if isinstance(exc, UnexpectedModelBehavior) else type(exc).__name__
            return self._fallback(planned, f"the LLM answer was unusable ({why}); the offline agent took this turn", start)
        rt.provider_failures = 0
        if isinstance(out, ModelerTurnOutput) and out.threats:
            rt.proposals.extend(out.threats)
        text, note = self._compose(out, protocol, first=not ctx.delivered(ctx.member.name))
        return Reply(text, agent=rt.settings.model, note=note, **self._usage(start))  # type: ignore[arg-type]

    def _ask(self, ctx: TurnContext, protocol: Protocol, planned: str) -> TurnOutput:
        rt = self.runtime
        prompts = rt.prompts
        template = prompts.roles[self.role]
        me = ctx.member
        heading = HEADINGS[self.role]
        values = {"member": me.name, "team": ctx.topology.team_of(me.name).name, "role": self.role.value,
                  "heading": heading, "suggested": protocol.suggested}
        instructions, task = template.render(**values)
        instructions = f"{instructions}\n\n{prompts.common.instructions.strip()}"
        first = self.role != Role.LEADER and not ctx.delivered(me.name)
        offline_text = analysis(ctx, self.role).text() if first else None
        prompt = f"{task}\n\n{data_block(turn_document(ctx, protocol, offline_text, planned), rt.settings.max_prompt_chars)}"
        output_type = ModelerTurnOutput if self.role == Role.THREAT_MODELER else TurnOutput
        agent: PydanticAgent[None, TurnOutput] = PydanticAgent(
            rt.model,
            output_type=rt.output_spec(output_type),
            instructions=instructions,
            retries={"output": rt.settings.output_retries},
            defer_model_check=True,
        )

        @agent.output_validator
        def _routing(rc: RunContext[None], out: TurnOutput) -> TurnOutput:
            # One re-ask about routing; after that the message stands and the topology's
            # routing rules decide where it goes (see _compose), as for any speaker.
            if rc.retry >= 1:
                return out
            if out.terminate and not protocol.may_terminate:
                raise ModelRetry(f"You may not end the exercise now; hand over with next set to one of {protocol.may_address}.")
            if not out.terminate and out.next not in protocol.may_address:
                raise ModelRetry(f"'next' must be one of {protocol.may_address} (suggested: {protocol.suggested}).")
            return out

        result = rt.run(agent, prompt, model_settings=rt.model_settings(output_type), timeout=rt.settings.timeout * (rt.settings.max_retries + 2))
        return result.output

    def _compose(self, out: TurnOutput, protocol: Protocol, *, first: bool) -> tuple[str, str | None]:
        """Heading first on a worker's analysis and a closing synthesis, never on a
        follow-up (which would replace the analysis in the record)."""
        body = out.message.strip()
        heading = HEADINGS[self.role]
        wants_heading = (self.role != Role.LEADER and first) or (self.role == Role.LEADER and protocol.may_terminate)
        if wants_heading and not body.startswith(heading):
            body = f"{heading}\n{body}"
        elif not wants_heading and self.role != Role.LEADER and body.startswith(heading):
            body = body[len(heading):].strip() or "My analysis above stands."
        note = None
        if out.terminate and not protocol.may_terminate:
            note = f"the model asked to end the exercise before it may end; the rules hand over ({protocol.suggested})"
            ending = protocol.suggested
        elif out.terminate:
            ending = "TERMINATE"
        elif out.next:
            ending = f"NEXT: {out.next.strip()}"  # the runner refuses a hand-over the topology does not allow
        else:  # always end on a line written here, so nothing in the model's text can steer
            note = f"the model named no one to speak next; the rules hand over ({protocol.suggested})"
            ending = protocol.suggested
        return f"{body}\n{ending}", note

    def _usage(self, start: int) -> dict[str, object]:
        calls = self.runtime.meter.since(start)
        return {
            "input_tokens": sum(c.input_tokens for c in calls),
            "output_tokens": sum(c.output_tokens for c in calls),
            "cost_usd": sum(c.cost_usd for c in calls),
        }

    def _fallback(self, planned: Reply, note: str, start: int | None = None) -> Reply:
        self.runtime.fallbacks += 1
        self.runtime.meter.events.append(f"{note}")
        usage = self._usage(start) if start is not None else {}
        return Reply(planned.text, agent="offline", note=note, **usage)  # type: ignore[arg-type]


__all__ = ["LLMAgent"]
