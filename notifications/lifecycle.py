"""An outbox message's lifecycle: one table of allowed transitions (written by service.lifecycle).

queued → sending (claimed under a lease) → sent → delivered (the gateway's receipt); a failed try goes back
to queued with a backoff, a message over the daily cap is held over to tomorrow (queued again), a claim
whose lease ran out is claimed again, and a message that failed for good can be retried by an officer.
A receipt may come before the dispatcher has recorded the send. The message row is its own record
(attempts, times, last error): no audit record per step.
"""

from __future__ import annotations

from service.lifecycle import Lifecycle

OUTBOX = Lifecycle(
    "notification",
    "消息",
    "A message",
    {
        "queued": frozenset({"sending"}),
        "sending": frozenset({"sending", "sent", "queued", "failed", "delivered"}),
        "sent": frozenset({"delivered", "failed"}),
        "failed": frozenset({"queued"}),
        "delivered": frozenset(),
    },
    {
        "queued": ("待发送", "queued"),
        "sending": ("发送中", "sending"),
        "sent": ("已发送", "sent"),
        "failed": ("发送失败", "failed"),
        "delivered": ("已送达", "delivered"),
    },
    audited=False,
)
