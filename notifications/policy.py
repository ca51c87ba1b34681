"""The pure rules of sending: what a channel's answer means, when to try again, quiet hours, the daily cap.

Plain functions over plain values (no session, no clock: `now` is an argument), tested with hypothesis.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from service.identity import redact


class Verdict(StrEnum):
    SENT = "sent"  # the channel accepted it
    RETRY = "retry"  # a passing trouble: try again later
    FAIL = "fail"  # the channel refused it for good: trying again cannot help


ERROR_CHARS = 300  # what a message keeps of a failure (last_error)
_ERROR_READ_CHARS = 8000  # how much of a long reply is read: masked whole, so no number is cut before masking


def error_text(text: str | None) -> str | None:
    """A failure as a message keeps it (last_error): masked, then cut. A gateway's or mail server's reply may quote
    the phone number, the address or an ID number it was given; the one masking function (service.identity.redact)
    runs on the reply before the cut, so half a number is never kept where the mask cannot recognise it."""
    return None if text is None else redact(text[:_ERROR_READ_CHARS])[:ERROR_CHARS]


@dataclass(frozen=True)
class Outcome:
    """A channel's answer. Its error is masked and cut as it is made: no channel, and no later store of it, can
    keep a reply verbatim."""

    verdict: Verdict
    error: str | None = None
    provider_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "error", error_text(self.error))


def verdict_for_status(status: int) -> Verdict:
    """An HTTP answer: 2xx accepted; 429 and 5xx passing (the gateway is busy or broken); other 4xx final
    (the request itself is wrong, and sending it again gets the same answer)."""
    if 200 <= status < 300:
        return Verdict.SENT
    if status == 429 or status >= 500:
        return Verdict.RETRY
    return Verdict.FAIL


def backoff_seconds(attempt: int, base: float, ceiling: float, jitter: float) -> float:
    """Wait before attempt `attempt + 1`: base × 2^(attempt-1), at most `ceiling`, then scaled by a jitter
    in [0, 1) into its upper half ("equal jitter"), so retries of many messages spread out but none comes
    back much sooner than the exponential step."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    step = min(ceiling, base * 2.0 ** min(attempt - 1, 62))
    return step / 2 + step / 2 * jitter


def after_failure(attempt: int, max_attempts: int, verdict: Verdict) -> bool:
    """Whether a message that got `verdict` on attempt `attempt` is done for good."""
    return verdict is Verdict.FAIL or attempt >= max_attempts


def quiet_until(now: datetime, tz: ZoneInfo, quiet: tuple[int, int] | None) -> datetime | None:
    """If `now` falls in the quiet hours (minutes of the local day, start → end, wrapping midnight),
    the moment they end; otherwise None."""
    if quiet is None:
        return None
    start, end = quiet
    local = now.astimezone(tz)
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start <= end else (minute >= start or minute < end)
    if not inside:
        return None
    end_day = local.date() if minute < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, time(end // 60, end % 60), tzinfo=tz)


def local_day_start(now: datetime, tz: ZoneInfo) -> datetime:
    return datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)


def split_by_cap(
    recipients: Iterable[tuple[int, str]], sent_today: dict[str, int], cap: int
) -> tuple[list[int], list[int]]:
    """Which messages (id, recipient) may go today under a cap of `cap` per recipient, given how many
    each recipient has had today: the earliest ids first. Returns (send, defer)."""
    used = dict(sent_today)
    send, defer = [], []
    for message_id, recipient in sorted(recipients):
        if used.get(recipient, 0) < cap:
            used[recipient] = used.get(recipient, 0) + 1
            send.append(message_id)
        else:
            defer.append(message_id)
    return send, defer
