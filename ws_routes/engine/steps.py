"""The steps of a conversation, as Hypothesis draws them: all up front, or while it runs.

:func:`fixed_steps` draws a whole list of steps before the conversation runs (routes that follow
no protocol). :func:`drawn_steps` draws a :class:`DrawnSteps`, which draws each step while the
conversation runs, after the replies to the previous one came in, from the messages the protocol
state reached so far allows (:class:`ws_routes.engine.protocol.ProtocolState`). Both draw each
step the same way (one wide control draw, then the payload, in the step's own span), so the
shrinker deletes any step of either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import strategies as st

from ws_routes.compile.route import CompiledMessage, CompiledRoute
from ws_routes.compile.ties import DUPLICATE_ID
from ws_routes.engine.protocol import STATE_MUTATIONS, ProtocolState
from ws_routes.spec.model import Kind, MessageSpec

__all__ = ["DrawnSteps", "Step", "drawn_steps", "fixed_steps"]


@dataclass(frozen=True, slots=True)
class Step:
    """Send one message. ``wait`` False sends the next one straight away, without settling.

    A negative step sends a mutant of ``message`` (see :mod:`ws_routes.mutate`): ``mutation``
    says how it breaks the spec, ``family`` which mutation family it is of, ``invalid`` whether
    no message type of the route accepts it. ``aim`` (a valid message that ``ends`` an
    operation) asks the player to put the id of an active operation it ends in it: drawn ids
    rarely hit one, and what a server does after the client stopped a stream is where it errs.

    With several clients (a route's ``clients``), ``client`` is the one that acts (0 is the
    first); a ``leave`` step sends nothing: that client closes (``"close"``) or drops
    (``"abort"``) its connection while the others go on.
    """

    message: str
    kind: Kind
    payload: Any
    wait: bool = True
    mutation: str | None = None
    invalid: bool = False
    family: str | None = None
    client: int = 0
    leave: str | None = None
    aim: bool = False


# A step's control decisions (go on, wait, mutate, which message) come from one wide draw
# split into bit fields: Hypothesis pays about as much per draw as a short step costs to run,
# and inside a conversation it draws small bounded integers far from uniformly (the first
# options dominate), while up to 24 bits come uniformly. From the lowest bits up: go on (3 bits,
# 0 ends the conversation: 7 in 8 go on), wait (2 bits, 3 sends the next message at once: 1 in
# 4), mutate (2 bits, 3 sends a mutant in a negative conversation: 1 in 4), then the message.
# 0, the shrink target, is "wait, valid, first option, end here"; the low fields are aligned to
# bits so that the integer shrinker's masks and small subtractions change one field at a time.
_STEP = st.integers(0, 2**24 - 1)
# Per conversation, the same way: the lowest 2 bits make it negative when 3 (1 in 4; the
# negative probes already send every mutation family once, and mostly-valid conversations are
# what reach the states where a mutant hurts), the rest rotate the message pool.
_SHAPE = st.integers(0, 2**24 - 1)


# A mutant of a `unique` message reuses an active id (the player picks it) 1 time in 4 at most.
_DUPLICATE = st.integers(0, 3).map(lambda v: v == 3)
# A valid `ends` message aims at an active operation 3 times in 4 (0, the shrink target, aims:
# a minimal failing example keeps stopping the stream it is about).
_AIM = st.integers(0, 3).map(lambda v: v != 3)
# While an operation runs, a valid step stops it (sends a message that ``ends`` it) about 1 time
# in 3 (measured inside conversations: 2 comes 29% of the time). Stopping what runs is where
# protocol servers err (a stream that goes on after the client's `complete`, a cleanup that
# forgets a table), yet at its weight among the options a stop mostly came when nothing ran:
# 1 in 56 `complete` messages of 100 graphql-transport-ws conversations met a running stream.
# A draw of its own, not extra copies among the options: the option index comes far from
# uniformly (the first options dominate), so copies at the end barely moved it. 0, the shrink
# target, does not stop.
_STOP = st.integers(0, 2).map(lambda v: v == 2)


def _control(value: int, choices: int, mutating: bool) -> tuple[bool, bool, int, bool]:
    """Go on, wait, the index of the option picked, mutate: decoded from one ``_STEP`` draw."""
    go_on = value & 7 != 0
    wait = (value >> 3) & 3 != 3
    mutate = mutating and (value >> 5) & 3 == 3
    return go_on, wait, (value >> 7) % choices, mutate


def _weighted_pool(weights: Sequence[float], enabled: Sequence[int]) -> list[int]:
    # Hypothesis has no weighted choice; repeating an index in proportion to its weight is exact
    # enough, and the heaviest message type comes first, so it is what shrinking aims for.
    smallest = min(weights[i] for i in enabled)
    ordered = sorted(enabled, key=lambda i: -weights[i])
    return [i for i in ordered for _ in range(max(1, min(20, round(weights[i] / smallest))))]


def _draw_step(draw: st.DrawFn, message: CompiledMessage, wait: bool, mutate: bool) -> Step:
    """A step sending ``message``: a mutant of it when ``mutate`` and it has mutants."""
    spec = message.spec
    if mutate and message.mutants is not None:
        if spec.unique and draw(_DUPLICATE):
            # The player puts an active id in it: a server may refuse a duplicate (negative case).
            payload = draw(message.strategy)
            return Step(spec.name, spec.kind, payload, wait, DUPLICATE_ID, family=DUPLICATE_ID)
        mutant = draw(message.mutants)
        return Step(
            spec.name,
            mutant.kind,
            mutant.payload,
            wait,
            mutation=mutant.mutation,
            invalid=mutant.invalid,
            family=mutant.family,
        )
    payload = draw(message.strategy)
    return Step(spec.name, spec.kind, payload, wait, aim=spec.ends is not None and draw(_AIM))


def _swarm(draw: st.DrawFn, weights: Sequence[float], everything: list[int]) -> list[int]:
    """The pool of message indexes one conversation draws from (see :func:`fixed_steps`)."""
    if len(weights) > 1:
        enabled = [i for i in range(len(weights)) if not draw(st.booleans())]
        if enabled and len(enabled) < len(weights):
            return _weighted_pool(weights, enabled)
    return everything


# With several clients, what the one drawn does: 0 to 5 sends, 6 leaves with a close, 7 drops
# (shrinking goes to sending, so a leave stays in a minimal case only when the bug needs it).
_ACTION = st.integers(0, 7)


def _act(draw: st.DrawFn, clients: st.SearchStrategy[int]) -> tuple[int, str | None]:
    """Which client takes a step, and whether it leaves instead of sending."""
    who = draw(clients)
    action = draw(_ACTION)
    return who, ("close" if action == 6 else "abort" if action == 7 else None)


def fixed_steps(
    messages: Sequence[CompiledMessage],
    max_messages: int,
    *,
    negative: bool = False,
    clients: int = 1,
) -> st.SearchStrategy[list[Step]]:
    """The steps of a conversation.

    Swarm testing (Groce et al., 2012): each conversation first draws which message types it
    uses, so some conversations hammer two or three types and reach the states that only
    sequences of those types reach. Shrinking turns the swarm back on for every type.

    ``clients`` above 1 draws, in each step's span after its control, the client that takes it
    and whether it leaves instead (one-client routes draw exactly what they drew before).
    """
    if not messages or max_messages <= 0:
        return st.just([])
    weights = [m.spec.weight for m in messages]
    everything = _weighted_pool(weights, range(len(messages)))
    who = st.integers(0, clients - 1)

    # Step strategies are built once per option list and reused: building strategies while
    # drawing costs more than the draws themselves.
    step_strategies: dict[tuple[tuple[int, ...], bool, bool], st.SearchStrategy[Any]] = {}

    def step_strategy(
        options: tuple[int, ...], first: bool, mutating: bool
    ) -> st.SearchStrategy[Any]:
        key = (options, first, mutating)
        if key not in step_strategies:
            # The last choice sends the previous message again: servers often break on the
            # second identical command (double leave, double subscribe), which random draws
            # rarely produce.
            choices = len(options) + 1

            @st.composite
            def next_step(draw: st.DrawFn) -> tuple[bool, Any]:
                # Every step has the same shape (control, payload), the first too, so the
                # shrinker can delete any step without misreading the rest.
                go_on, wait, picked, mutate = _control(draw(_STEP), choices, mutating)
                client, leave = _act(draw, who) if clients > 1 else (0, None)
                if leave is not None:
                    return go_on, Step("", "text", None, wait, client=client, leave=leave)
                if picked == len(options):
                    if not first:
                        return go_on, client  # the previous message again, by ``client``
                    picked = 0  # nothing to repeat yet
                step = _draw_step(draw, messages[options[picked]], wait, mutate)
                return go_on, replace(step, client=client) if client else step

            step_strategies[key] = next_step()
        return step_strategies[key]

    @st.composite
    def plan(draw: st.DrawFn) -> list[Step]:
        pool = _swarm(draw, weights, everything)
        shape = draw(_SHAPE)
        mutating = negative and shape & 3 == 3
        # Shrinking aims for the first option; a per-conversation rotation keeps the first
        # message of a conversation from being the same type in most conversations.
        offset = (shape >> 2) % len(pool)
        options = (*pool[offset:], *pool[:offset])
        steps: list[Step] = []
        # One step at a time, each in its own span that starts with its control draw (as
        # Hypothesis' stateful testing does): conversations run long, and the shrinker drops any
        # step by deleting its span. The first step ignores "go on": a conversation without
        # messages only repeats the handshake.
        while len(steps) < max_messages:
            go_on, step = draw(step_strategy(options, not steps, mutating))
            steps.append(_again(steps, step) if isinstance(step, int) else step)
            if not go_on:
                break
        return steps

    return plan()


def _again(steps: list[Step], who: int) -> Step:
    """The last message sent before, sent again by client ``who`` (a leave is not repeated)."""
    sent = next((s for s in reversed(steps) if s.leave is None), None)
    if sent is None:
        return replace(steps[-1], client=who)
    return replace(sent, client=who) if sent.client != who else sent


class _Follow:
    """What the conversations of a route that follows a protocol draw from, built once.

    Each step is drawn as :func:`fixed_steps` draws one (one ``_STEP`` control draw, then its
    payload, in its own span, so the shrinker deletes steps as it does there), but its options
    are the messages the state allows, and a negative conversation's negative step is either a
    mutant or, with bit 23 of the control set, a message sent in a state outside its ``when``.
    """

    def __init__(self, route: CompiledRoute, max_messages: int, negative: bool) -> None:
        self.messages = route.messages
        self.by_name = {m.spec.name: m for m in route.messages}
        self.opening = [self.by_name[n] for n in route.spec.opening if n in self.by_name]
        self.max_messages = max(max_messages, 0)
        self.negative = negative
        self.weights = [m.spec.weight for m in route.messages]
        # Messages whose expected replies move the state: the step after one depends on where
        # it lands, so it is never part of a burst.
        moving = {r.name for r in route.spec.replies if r.goto is not None}
        self.settles = {m.spec.name for m in route.messages if moving & set(m.spec.reply)}
        self._steps: dict[tuple[Any, ...], st.SearchStrategy[tuple[bool, Step | None]]] = {}
        # How many steps after the opening a conversation takes before "go on" counts. Hypothesis
        # draws a wide integer as 0 far more often than 1 in 8 (measured: 16% exactly 0, 26% of
        # the controls ended the conversation), so without a floor most protocol conversations
        # ended one or two messages after the opening, short of the states where operations run
        # and are stopped. 0, the shrink target, is no floor: the shrinker still cuts the tail.
        self.depth = st.integers(0, self.max_messages)

    def plan(self) -> st.SearchStrategy[DrawnSteps]:
        everything = (
            _weighted_pool(self.weights, range(len(self.messages))) if self.messages else []
        )

        @st.composite
        def plan(draw: st.DrawFn) -> DrawnSteps:
            pool = _swarm(draw, self.weights, everything)
            shape = draw(_SHAPE)
            mutating = self.negative and shape & 3 == 3
            # 1 in 4 negative conversations tests the gate: it sends a prefix of the opening,
            # then a message the state reached does not allow (a "skipped_opening" step).
            skip = None
            if mutating and self.opening and (shape >> 2) & 3 == 3:
                skip = (shape >> 4) % len(self.opening)
            offset = (shape >> 6) % len(pool) if pool else 0
            options = (*pool[offset:], *pool[:offset])
            depth = draw(self.depth)
            return DrawnSteps(self, draw(st.data()), options, mutating, skip, depth)

        return plan()

    def step(
        self,
        options: tuple[int, ...],
        wrong: tuple[int, ...],
        repeat: bool,
        mutating: bool,
        forced: bool,
        stoppers: tuple[int, ...] = (),
    ) -> st.SearchStrategy[tuple[bool, Step | None]]:
        """(go on, the step; None: the previous one again), from ``options`` or, negative, from
        ``wrong`` (messages the current state does not allow), or one of the ``stoppers`` (see
        ``_STOP``); cached like fixed_steps'."""
        key = (options, wrong, repeat, mutating, forced, stoppers)
        if key not in self._steps:
            choices = len(options) + repeat

            @st.composite
            def next_step(draw: st.DrawFn) -> tuple[bool, Step | None]:
                value = draw(_STEP)
                go_on, wait, picked, mutate = _control(value, max(choices, 1), mutating)
                if forced or (mutate and wrong and value >> 23):
                    message = self.messages[wrong[(value >> 7) % len(wrong)]]
                    spec = message.spec
                    mutation = "skipped_opening" if forced else "wrong_state"
                    payload = draw(message.strategy)
                    return go_on, Step(
                        spec.name, spec.kind, payload, wait, mutation, invalid=True, family=mutation
                    )
                if len(stoppers) > 0 and draw(_STOP):
                    stopper = self.messages[stoppers[(value >> 7) % len(stoppers)]]
                    return go_on, _draw_step(draw, stopper, wait, mutate)
                if picked == len(options):
                    return go_on, None
                return go_on, _draw_step(draw, self.messages[options[picked]], wait, mutate)

            self._steps[key] = next_step()
        return self._steps[key]


class DrawnSteps:
    """The steps of one conversation, drawn while it runs from the protocol state reached.

    :func:`ws_routes.engine.play.run_conversation` asks for each step (:meth:`next`) once the
    replies to the previous one were collected; ``sent`` is what it handed out, captured values
    filled in. First come the ``prefix`` (the auth message), then the opening, then drawn steps.
    """

    def __init__(
        self,
        follow: _Follow,
        data: st.DataObject,
        options: tuple[int, ...],
        mutating: bool,
        skip: int | None,
        depth: int = 0,
    ) -> None:
        self._follow, self._data, self._options, self._mutating = follow, data, options, mutating
        self._depth = depth  # drawn steps that go on whatever their control says
        self._opening = follow.opening[: len(follow.opening) if skip is None else skip]
        self._gate = skip is not None  # the next drawn step tests the gate
        self._prefix: list[Step] = []
        self._prefixed = 0
        self._stop = False
        self._drawn = 0
        self.limit = follow.max_messages
        self.sent: list[Step] = []

    def prepend(self, steps: Sequence[Step]) -> None:
        """Send ``steps`` before the others, beyond the limit (as the auth message is)."""
        self._prefix = list(steps)
        self._prefixed = len(steps)
        self.limit += len(steps)

    @property
    def finished(self) -> bool:
        return self._stop or len(self.sent) >= self.limit

    def next(self, state: ProtocolState, running: frozenset[str] = frozenset()) -> Step | None:
        """The next step to send in ``state`` while operations of the message types ``running``
        run; None when the conversation ends here."""
        step = None if self.finished else self._draw(state, running)
        if step is None:
            self._stop = True
            return None
        if step.mutation is None or step.mutation in STATE_MUTATIONS:
            wait = step.wait or step.message in self._follow.settles
            step = replace(step, payload=state.fill(step.message, step.payload), wait=wait)
        self.sent.append(step)
        return step

    def _draw(self, state: ProtocolState, running: frozenset[str]) -> Step | None:
        if self._prefix:
            return self._prefix.pop(0)
        if self._opening:
            message, self._opening = self._opening[0], self._opening[1:]
            return Step(message.spec.name, message.spec.kind, self._data.draw(message.strategy))
        follow = self._follow
        specs = [m.spec for m in follow.messages]
        options = tuple(i for i in self._options if state.sendable(specs[i]))
        stoppers = _stopping(options, specs, running)
        wrong: tuple[int, ...] = ()
        if self._mutating:
            wrong = tuple(i for i, spec in enumerate(specs) if not state.allows(spec))
        forced, self._gate = self._gate and bool(wrong), False
        previous = self.sent[-1] if len(self.sent) > self._prefixed else None
        again = previous is not None and follow.by_name.get(previous.message) is not None
        if previous is not None and again and previous.mutation in (None, *STATE_MUTATIONS):
            # A valid message again: as it is where allowed, else only as a wrong-state step.
            now = state.sendable(follow.by_name[previous.message].spec)
            again = now or self._mutating
            previous = replace(previous, mutation=None if now else "wrong_state", invalid=not now)
        if not options and not again and not forced:
            return None
        go_on, step = self._data.draw(
            follow.step(options, wrong, again, self._mutating, forced, stoppers)
        )
        self._drawn += 1
        self._stop = not go_on and self._drawn > self._depth
        return previous if step is None else step


def _stopping(
    options: tuple[int, ...], specs: Sequence[MessageSpec], running: frozenset[str]
) -> tuple[int, ...]:
    """The ``options`` that end an operation of one of the message types ``running``, once each."""
    return tuple(i for i in dict.fromkeys(options) if specs[i].ends in running)


def drawn_steps(
    route: CompiledRoute, max_messages: int, negative: bool
) -> st.SearchStrategy[DrawnSteps]:
    """The steps of a conversation on a route that follows a protocol, drawn as it runs."""
    return _Follow(route, max_messages, negative).plan()
