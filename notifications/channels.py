"""The channels: SMS through the generic HTTP gateway (API.md), e-mail over SMTP, webhooks signed with HMAC.

Each channel sends one message and says what came of it (notifications.policy.Outcome); it never raises for a
delivery problem. The HTTP channels share one pooled httpx.AsyncClient each, with a semaphore that bounds how
many requests are in flight and timeouts on every phase. Every send carries the message's stable id (SMS `id`,
webhook `X-Zizhu-Message-Id`, e-mail `Message-ID`), so a resend after a crash is recognisably the same message.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from notifications.policy import Outcome, Verdict, verdict_for_status


@dataclass(frozen=True)
class Outgoing:
    id: str  # the stable message id
    to: str
    text: str
    template: str
    subject: str


class Channel(Protocol):
    async def send(self, message: Outgoing) -> Outcome: ...

    async def aclose(self) -> None: ...


def sign(secret: str, body: bytes) -> str:
    """The X-Zizhu-Signature header: "sha256=" and the hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _HttpChannel:
    def __init__(self, url: str, concurrency: int, timeout: float) -> None:
        self.url = url
        self.concurrency = concurrency
        self.timeout = timeout
        self._semaphore = asyncio.Semaphore(concurrency)
        self._client: httpx.AsyncClient | None = None

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:  # made in the running event loop, on first use
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
                limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
            )
        return self._client

    def _request(self, message: Outgoing) -> tuple[bytes, dict[str, str]]:
        raise NotImplementedError

    async def send(self, message: Outgoing) -> Outcome:
        body, headers = self._request(message)
        headers["content-type"] = "application/json"
        async with self._semaphore:
            try:
                response = await self._get_client().post(self.url, content=body, headers=headers)
            except httpx.TimeoutException:
                return Outcome(Verdict.RETRY, "timeout")
            except httpx.TransportError as exc:  # refused, reset, DNS: passing troubles
                return Outcome(Verdict.RETRY, f"{type(exc).__name__}: {exc}")
        verdict = verdict_for_status(response.status_code)
        if verdict is Verdict.SENT:
            return Outcome(verdict, provider_id=_provider_id(response))
        return Outcome(verdict, f"HTTP {response.status_code}: {response.text}")  # masked and cut by Outcome

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _provider_id(response: httpx.Response) -> str | None:
    try:
        data: Any = response.json()
    except ValueError:
        return None
    value = data.get("provider_id") or data.get("message_id") if isinstance(data, dict) else None
    return str(value)[:64] if value else None


class SmsChannel(_HttpChannel):
    """POST {"id","to","text","template"} with a bearer token (API.md)."""

    def __init__(self, url: str, token: str, concurrency: int = 32, timeout: float = 10) -> None:
        super().__init__(url, concurrency, timeout)
        self._auth = f"Bearer {token}"

    def _request(self, message: Outgoing) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(
            {"id": message.id, "to": message.to, "text": message.text, "template": message.template}, ensure_ascii=False
        ).encode()
        return body, {"authorization": self._auth}


class WebhookChannel(_HttpChannel):
    """POST the message as JSON, signed: X-Zizhu-Signature = sha256=HMAC-SHA256(secret, body)."""

    def __init__(self, url: str, secret: str, concurrency: int = 8, timeout: float = 10) -> None:
        super().__init__(url, concurrency, timeout)
        self._secret = secret

    def _request(self, message: Outgoing) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(
            {
                "id": message.id,
                "to": message.to,
                "text": message.text,
                "template": message.template,
                "subject": message.subject,
            },
            ensure_ascii=False,
        ).encode()
        return body, {"x-zizhu-signature": sign(self._secret, body), "x-zizhu-message-id": message.id}


class EmailChannel:
    """SMTP with the standard library, one connection per message, in worker threads (a few at a time)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        user: str | None = None,
        password: str = "",
        timeout: float = 10,
        concurrency: int = 4,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.timeout = user, password, timeout
        self._semaphore = asyncio.Semaphore(concurrency)

    def _send_now(self, message: Outgoing) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"] = self.sender, message.to
        mail["Subject"] = "还款提醒 / Repayment reminder"
        mail["Message-ID"] = f"<{message.id}@zizhu>"
        mail.set_content(message.text)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.user:
                smtp.starttls()
                smtp.login(self.user, self.password)
            smtp.send_message(mail)

    async def send(self, message: Outgoing) -> Outcome:
        async with self._semaphore:
            try:
                await asyncio.to_thread(self._send_now, message)
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                return Outcome(
                    Verdict.RETRY if all(400 <= c < 500 for c in codes) else Verdict.FAIL, f"recipient refused: {codes}"
                )
            except smtplib.SMTPResponseException as exc:
                verdict = Verdict.RETRY if 400 <= exc.smtp_code < 500 else Verdict.FAIL
                return Outcome(verdict, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}")
            except (smtplib.SMTPException, OSError) as exc:  # refused, timed out, disconnected
                return Outcome(Verdict.RETRY, f"{type(exc).__name__}: {exc}")
        return Outcome(Verdict.SENT)

    async def aclose(self) -> None:
        return None
