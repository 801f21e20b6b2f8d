"""A stand-in for a DingTalk custom group robot (自定义机器人): POST
``/robot/send?access_token=…`` as the real ``https://oapi.dingtalk.com/robot/send``.

Checks what DingTalk checks: the access token (errcode 300001), the signature of a signed
robot (``timestamp`` in milliseconds within one hour of now, ``sign`` the base64 HMAC-SHA256
of "<timestamp>\\n<secret>" keyed with the secret: errcode 310000), the message type (only
``text`` and ``markdown`` here; 40035 otherwise), a markdown message's ``title`` and ``text``
(the text at most `MAX_TEXT_BYTES` UTF-8 bytes: 460101) and 20 messages a minute (130101).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from standin.robot import JSON, Refusal, RobotStandIn

MAX_TEXT_BYTES = 20000
HOUR_MS = 3_600_000


@dataclass
class DingTalkStandIn(RobotStandIn):
    """A DingTalk group robot; `secret` set makes it a signed robot."""

    secret: str = ""

    path = "/robot/send"
    token_param = "access_token"
    rate_errcode = 130101
    rate_errmsg = "send too fast, exceed 20 times per minute"
    token_errcode = 300001
    token_errmsg = "token is not exist"
    body_errcode = 40035

    def markdown_of(self, body: JSON) -> str:
        return str(body["markdown"]["text"])

    def check(self, query: dict[str, str], body: JSON) -> None:
        if self.secret:
            timestamp = query.get("timestamp", "")
            if not timestamp.isdigit() or abs(self.now_ms() - int(timestamp)) > HOUR_MS:
                raise Refusal(310000, "invalid timestamp")
            expected = base64.b64encode(
                hmac.new(
                    self.secret.encode(), f"{timestamp}\n{self.secret}".encode(), hashlib.sha256
                ).digest()
            ).decode()
            # aiohttp has URL-decoded the query already
            if not hmac.compare_digest(query.get("sign", ""), expected):
                raise Refusal(310000, "sign not match")
        kind = body.get("msgtype")
        if kind == "text":
            if not isinstance(body.get("text"), dict) or not body["text"].get("content"):
                raise Refusal(40035, "missing text content")
            return
        if kind != "markdown":
            raise Refusal(40035, f"unsupported msgtype {kind!r}")
        markdown = body.get("markdown")
        if not isinstance(markdown, dict) or not markdown.get("title") or not markdown.get("text"):
            raise Refusal(40035, "markdown needs title and text")
        if len(str(markdown["text"]).encode("utf-8")) > MAX_TEXT_BYTES:
            raise Refusal(460101, "message too long")
