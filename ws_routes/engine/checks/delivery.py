"""Checks of multi-client conversations: what a reply's ``delivery`` promises the other clients.

``delivery``: each in-scope client connected when a message was sent got the replies delivered
to it (the player waited for them, decided at once when the app went idle, and noted each that
never came in that client's ``missed_deliveries``). ``non_delivery``: no client outside the
scope (another room) got one. Both read client 1's transcript, which holds the others'.
"""

from __future__ import annotations

from collections.abc import Iterator

from ws_routes.driver.transcript import Failure, Frame, Transcript
from ws_routes.engine.checks.common import IDLE, Context, burst_end
from ws_routes.engine.multiplay import delivered_to

__all__ = ["check_delivery", "check_non_delivery"]


def _clients(t: Transcript) -> list[Transcript]:
    return [t, *t.others]


def _sent(t: Transcript, index: int) -> tuple[Transcript, Frame] | None:
    for client in _clients(t):
        for frame in client.frames:
            if frame.direction == "send" and frame.index == index:
                return client, frame
    return None


def check_delivery(ctx: Context) -> Iterator[Failure]:
    t, steps = ctx.transcript, ctx.conversation.steps
    timeout = ctx.route.spec.settings.message_timeout
    for receiver in _clients(t):
        close = receiver.server_close()
        for index, names in receiver.missed_deliveries:
            if (
                close is not None
                and close.index is not None
                and close.index <= burst_end(steps, index)
            ):
                continue  # closed by the server meanwhile: close_code's question
            found = _sent(t, index)
            if found is None:
                continue
            sender, frame = found
            idle = burst_end(steps, index) in receiver.decided_idle
            either = " or ".join(map(repr, names))
            yield Failure(
                check="delivery",
                error_type="contract_violation",
                message=f"client {sender.client + 1}'s message {index} ({frame.name}, on "
                f"{sender.path}) did not reach client {receiver.client + 1} (on "
                f"{receiver.path}): no {either}",
                expected=f"client {receiver.client + 1} to receive {either}"
                + ("" if idle else f" within {timeout} s"),
                actual=IDLE if idle else f"nothing of that type within {timeout} s",
                index=index,
                frame=frame,
                details=(
                    ("sender", f"client {sender.client + 1}"),
                    ("receiver", f"client {receiver.client + 1}"),
                ),
            )
            return


def check_non_delivery(ctx: Context) -> Iterator[Failure]:
    t, steps, spec = ctx.transcript, ctx.conversation.steps, ctx.route.spec
    declared = {r.name: r.delivery for r in spec.replies if r.delivery is not None}
    for receiver in _clients(t):
        for frame in receiver.received:
            delivery = declared.get(frame.name or "")
            if delivery is None or delivery.to == "sender" or frame.index is None:
                continue
            # The messages of the burst this frame was collected after: what could cause it.
            causes = []
            for i in range(frame.index + 1):
                if burst_end(steps, i) < frame.index:
                    continue
                found = _sent(t, i)
                if found is None or found[0] is receiver or found[1].mutation is not None:
                    continue
                sender, sent = found
                reach, spared = delivered_to(spec, sent.name or "", sender.path, receiver.path)
                if frame.name in reach:
                    break  # in scope of one of them: delivered as declared
                if frame.name in spared:
                    causes.append((sender, sent))
            else:
                if causes:
                    sender, sent = causes[0]
                    yield Failure(
                        check="non_delivery",
                        error_type="contract_violation",
                        message=f"client {receiver.client + 1} (on {receiver.path}) received "
                        f"{frame.name!r}, which client {sender.client + 1}'s message "
                        f"{sent.index} ({sent.name}, on {sender.path}) must deliver only to "
                        f"clients with the same {delivery.same}",
                        expected=f"{frame.name!r} to reach only clients with the sender's "
                        f"{delivery.same}",
                        actual=f"client {receiver.client + 1} received {frame.render(limit=120)}",
                        index=frame.index,
                        frame=sent,
                        details=(
                            ("sender", f"client {sender.client + 1}"),
                            ("receiver", f"client {receiver.client + 1}"),
                        ),
                    )
                    return
