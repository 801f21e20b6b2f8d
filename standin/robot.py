"""The common half of the group robot stand-ins (:mod:`standin.dingtalk`,
:mod:`standin.wecom`): an aiohttp server on ``127.0.0.1`` (ephemeral port) with one webhook
path, its token in the query, answering ``{"errcode": 0, "errmsg": "ok"}`` like the real
robots and refusing what they refuse: a wrong token, a bad body, an oversized message and
more than ``per_minute`` messages in ``window_seconds`` (real time). Subclasses check the
platform's own rules (signature, message types, sizes). Faults are injected with
:meth:`RobotStandIn.fail_next`. Imports nothing from the rest of the project.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

JSON = dict[str, Any]


class Refusal(Exception):
    """A request the platform refuses: its errcode and errmsg (HTTP 200, like the real one)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass
class RobotRequest:
    """One request received: the query, the JSON body (None if unreadable) and the answer
    given (`errcode`, or `status` for an injected HTTP error)."""

    query: dict[str, str]
    body: JSON | None
    errcode: int | None = None
    status: int = 200


@dataclass
class _Fault:
    count: int
    errcode: int | None
    status: int
    errmsg: str = "injected"


@dataclass
class RobotStandIn:
    """Base of a group robot stand-in; see the module docstring.

    `token` is the webhook's token, `per_minute` and `window_seconds` its rate limit,
    `clock_ms` returns "now" in milliseconds since the epoch for timestamp checks (the bot's
    clock in tests). `posts` holds the bodies accepted, `requests` every request."""

    token: str = "standin-robot-token-0123456789"
    per_minute: int = 20
    window_seconds: float = 60.0
    clock_ms: Any = None
    posts: list[JSON] = field(default_factory=list)
    requests: list[RobotRequest] = field(default_factory=list)
    _faults: list[_Fault] = field(default_factory=list)
    _accepted_at: deque[float] = field(default_factory=deque)
    _runner: web.AppRunner | None = None
    _port: int | None = None

    path = "/send"
    token_param = "token"
    rate_errcode = 1
    rate_errmsg = "too fast"
    token_errcode = 2
    token_errmsg = "invalid token"
    body_errcode = 3

    async def start(self) -> None:
        """Start the server on 127.0.0.1 with an ephemeral port."""
        app = web.Application()
        app.router.add_post(self.path, self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop the server."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def webhook(self) -> str:
        """The webhook URL to configure (its token in the query)."""
        if self._port is None:
            raise RuntimeError("stand-in not started")
        return f"http://127.0.0.1:{self._port}{self.path}?{self.token_param}={self.token}"

    def fail_next(
        self, *, errcode: int | None = None, status: int = 200, count: int = 1, errmsg: str = ""
    ) -> None:
        """Answer the next `count` requests with `errcode` (HTTP 200) or, without one, with
        HTTP `status`; nothing is posted."""
        self._faults.append(_Fault(count, errcode, status, errmsg or "injected"))

    def clear_faults(self) -> None:
        """Drop the faults not yet used."""
        self._faults.clear()

    def texts(self) -> list[str]:
        """The markdown texts posted, in order."""
        return [self.markdown_of(body) for body in self.posts if body.get("msgtype") == "markdown"]

    async def wait_posts(self, count: int, timeout: float = 10.0) -> None:
        """Wait until `count` bodies are posted; raise TimeoutError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while len(self.posts) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.posts)} posts, expected {count}")
            await asyncio.sleep(0.02)

    def now_ms(self) -> int:
        """Now in milliseconds since the epoch, from `clock_ms` when given."""
        return int(self.clock_ms()) if self.clock_ms is not None else int(time.time() * 1000)

    def markdown_of(self, body: JSON) -> str:
        """The markdown text of a markdown body."""
        raise NotImplementedError

    def check(self, query: dict[str, str], body: JSON) -> None:
        """Raise `Refusal` for what the platform would refuse (beyond token and rate)."""
        raise NotImplementedError

    async def _handle(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        raw = await request.read()
        try:
            body = json.loads(raw.decode("utf-8"))
            if not isinstance(body, dict):
                body = None
        except (UnicodeDecodeError, ValueError):
            body = None
        record = RobotRequest(query, body)
        self.requests.append(record)
        if self._faults:
            fault = self._faults[0]
            fault.count -= 1
            if fault.count <= 0:
                self._faults.pop(0)
            if fault.errcode is None:
                record.status = fault.status
                return web.Response(status=fault.status, text="<html>error</html>")
            return self._answer(record, fault.errcode, fault.errmsg)
        try:
            if query.get(self.token_param) != self.token:
                raise Refusal(self.token_errcode, self.token_errmsg)
            if body is None:
                raise Refusal(self.body_errcode, "invalid json")
            self.check(query, body)
            now = time.monotonic()
            while self._accepted_at and now - self._accepted_at[0] >= self.window_seconds:
                self._accepted_at.popleft()
            if len(self._accepted_at) >= self.per_minute:
                raise Refusal(self.rate_errcode, self.rate_errmsg)
        except Refusal as refusal:
            return self._answer(record, refusal.errcode, refusal.errmsg)
        self._accepted_at.append(now)
        self.posts.append(body)
        return self._answer(record, 0, "ok")

    @staticmethod
    def _answer(record: RobotRequest, errcode: int, errmsg: str) -> web.Response:
        record.errcode = errcode
        return web.json_response({"errcode": errcode, "errmsg": errmsg})
