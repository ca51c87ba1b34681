"""A loopback SMS gateway that speaks API.md's protocol: for tests, the benchmark and a demo without a provider.

It answers POST {"id","to","text","template"} with 200 and {"provider_id": …}, or with whatever its plan says
next: an HTTP status ("429", "500", "400"), or "hang" (never answers). It remembers every message it got (by id:
the ids it saw more than once are the resends) and, as a process, appends them to a JSON-lines file.

    python -m notifications.fake_gateway --port 8025 [--log sent.jsonl] [--delay 0.05] [--token T]

A plain asyncio protocol (no framework), so that it is cheap enough not to be what a benchmark measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
from collections import Counter
from collections.abc import Iterable
from typing import IO, Any

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 429: "Too Many Requests", 500: "Internal Server Error"}


class GatewayState:
    def __init__(
        self,
        plan: Iterable[str] = (),
        delay: float = 0.0,
        token: str | None = None,
        log: IO[str] | None = None,
        keep: bool = True,
    ) -> None:
        self.plan = list(plan)
        self.delay, self.token, self.log, self.keep = delay, token, log, keep
        self.received: list[dict[str, Any]] = []
        self.count = 0
        self._lock = threading.Lock()

    def next_action(self) -> str:
        with self._lock:
            return self.plan.pop(0) if self.plan else "200"

    def record(self, message: dict[str, Any], headers: dict[str, str], body: bytes) -> None:
        self.count += 1
        if self.keep:  # with what came over the wire, for tests that check headers and signatures
            self.received.append({**message, "_headers": headers, "_body": body})
        if self.log is not None:
            self.log.write(json.dumps(message, ensure_ascii=False) + "\n")
            self.log.flush()

    @property
    def ids(self) -> Counter[str]:
        return Counter(m["id"] for m in self.received)


class _Http(asyncio.Protocol):
    def __init__(self, state: GatewayState) -> None:
        self.state = state
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
            size = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + size:
                return
            body, self.buffer = self.buffer[end + 4 : end + 4 + size], self.buffer[end + 4 + size :]
            self._handle(headers, body)

    def _handle(self, headers: dict[str, str], body: bytes) -> None:
        state = self.state
        if state.token is not None and headers.get("authorization") != f"Bearer {state.token}":
            return self._answer(401, b'{"error":"bad token"}')
        action = state.next_action()
        if action == "hang":
            return  # never answers: the client's timeout must end it
        status = int(action)
        try:
            message = json.loads(body)
        except ValueError:
            return self._answer(400, b'{"error":"not json"}')
        if status == 200:
            state.record(message, headers, body)
            answer = json.dumps({"provider_id": f"gw-{state.count}"}).encode()
        else:
            # as real gateways do, the refusal quotes the number it was given (the dispatcher must not keep it whole)
            answer = json.dumps({"error": f"planned {status}", "mobile": message.get("to")}).encode()
        if state.delay:
            asyncio.get_running_loop().call_later(state.delay, self._answer, status, answer)
        else:
            self._answer(status, answer)

    def _answer(self, status: int, body: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )


async def serve(state: GatewayState, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: _Http(state), host, port)


class ThreadedGateway:
    """The gateway on its own event loop in a daemon thread (for tests that run their own loop)."""

    def __init__(self, **state: Any) -> None:
        self.state = GatewayState(**state)
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._server = self.loop.run_until_complete(serve(self.state))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()

    def __enter__(self) -> ThreadedGateway:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        def stop() -> None:
            assert self._server is not None
            self._server.close()
            self.loop.stop()

        self.loop.call_soon_threadsafe(stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--log", help="append every accepted message to this JSON-lines file")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--token", help="require Authorization: Bearer TOKEN")
    args = parser.parse_args()

    async def run() -> None:
        log = open(args.log, "a", encoding="utf-8") if args.log else None  # noqa: SIM115 (open for the process' life)
        state = GatewayState(delay=args.delay, token=args.token, log=log, keep=False)
        server = await serve(state, port=args.port)
        print(f"gateway listening on 127.0.0.1:{args.port}", flush=True)
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
