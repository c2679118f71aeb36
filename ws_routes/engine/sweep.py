"""The negative sweep: every mutation family of every message type, each once, as probes.

Conversations draw mutants at random and Hypothesis favours some families and places over
others; this sweep makes sure every one reaches the app before the conversations start. The
mutants themselves come from :func:`ws_routes.mutate.sweep`; this module decides where they are
sent (on a fresh connection, and again after the route's opening) and wraps each in a
:class:`~ws_routes.engine.probe_base.Probe`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hypothesis.errors import HypothesisException

from ws_routes.compile.credentials import Credential
from ws_routes.compile.route import CompiledMessage, CompiledRoute
from ws_routes.engine.conversation import Step
from ws_routes.engine.probe_base import BaseConnection, Probe, conversation_for, simplest
from ws_routes.engine.protocol import ProtocolState
from ws_routes.errors import SchemaCompileError
from ws_routes.generate import from_schema
from ws_routes.mutate import Mutant, sweep, with_every_property

__all__ = ["negative_probes"]


def negative_probes(
    route: CompiledRoute, base: BaseConnection, credential: Credential | None
) -> Iterator[Probe]:
    """Each mutation family of each message type, once on a fresh connection, and once more
    after the route's ``opening`` (without one: after a valid message of the first declared type).

    The second round is for stateful protocols: on a fresh connection, a mutant only ever tests
    the gate in front of the state where handlers do their work. Routes that declare no opening
    usually declare their opening message (join, hello, subscribe) first. On a route with
    ``states``, each round also sends, valid, every message its ``when`` forbids there.
    """
    sweeps: list[tuple[CompiledMessage, Any, list[Mutant]]] = []
    for message in route.messages:
        try:
            value = simplest(message.strategy)
        except HypothesisException:
            continue
        lone = message.spec.kind != "text"
        registered = route.registered_kinds
        found = sweep(route.spec, message, value, registered=registered, lone_surrogates=lone)
        fuller = _with_every_property(route, message)
        if fuller is not None:  # the optional fields' mutants, which the simplest value lacks
            seen = {m.mutation for m in found}
            extra = sweep(route.spec, message, fuller, registered=registered, lone_surrogates=lone)
            found += [m for m in extra if m.mutation not in seen]
        sweeps.append((message, value, found))
    prefixes: list[tuple[str, tuple[Step, ...]]] = [("", ())]
    if route.spec.opening:
        # The declared opening, as the probes' base connection sends it: the mutants then reach
        # the state the protocol's work happens in.
        opening = tuple(base.steps)
        if opening and len(opening) == len(route.spec.opening):
            prefixes.append((f" after {', '.join(s.message for s in opening)}", opening))
    elif len(route.messages) > 1 and sweeps and sweeps[0][0] is route.messages[0]:
        first, value, _ = sweeps[0]
        prefixes.append(
            (f" after {first.spec.name}", (Step(first.spec.name, first.spec.kind, value),))
        )
    # A probe sends its prefix and one mutant: no more than a conversation may (max_messages).
    limit = route.spec.settings.max_messages
    for after, prefix in [(a, p) for a, p in prefixes if len(p) + 1 <= limit]:
        state = ProtocolState(route.spec)
        for step in prefix:
            state.expect(step.message)
        wrong = "skipped_opening" if route.spec.opening and not prefix else "wrong_state"
        for message, value, mutants in sweeps:
            spec = message.spec
            if route.spec.states and not state.allows(spec):
                # The gate itself: this message, valid, where the protocol does not allow it.
                step = Step(spec.name, spec.kind, value, mutation=wrong, invalid=True)
                conversation = conversation_for(route, base, credential, steps=(*prefix, step))
                name = f"negative{after}: {spec.name}: {wrong} (in state {state.state})"
                yield Probe("negative", name, conversation)
            for mutant in mutants:
                step = Step(
                    spec.name,
                    mutant.kind,
                    mutant.payload,
                    mutation=mutant.mutation,
                    invalid=mutant.invalid,
                    family=mutant.family,
                )
                conversation = conversation_for(route, base, credential, steps=(*prefix, step))
                name = f"negative{after}: {spec.name}: {mutant.mutation}"
                yield Probe("negative", name, conversation)


def _with_every_property(route: CompiledRoute, message: CompiledMessage) -> Any | None:
    """The simplest value of ``message`` that has every top-level property, if it differs."""
    schema = message.spec.schema
    if message.source != "schema" or schema is None:
        return None
    full = with_every_property(schema.value)
    if full is None:
        return None
    try:
        # compile_route already warned about the schema's unknown formats.
        strategy = from_schema(
            full,
            max_size=route.spec.settings.max_message_size,
            on_unknown_format=lambda _name, _pointer: None,
        )
        return simplest(strategy)
    except (HypothesisException, SchemaCompileError):
        return None
