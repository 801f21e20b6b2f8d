"""A stand-in for a WeCom (企业微信) group robot: POST ``/cgi-bin/webhook/send?key=…`` as the
real ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send``.

Checks what WeCom checks: the key (errcode 93000), the message type (``text``,
``markdown``, ``image``; 40008 otherwise), a markdown ``content`` of at most
`MAX_MARKDOWN_BYTES` UTF-8 bytes (40058), an image's base64 (at most `MAX_IMAGE_BYTES`
decoded, 40009) and its md5 (301019), and 20 messages a minute (45009).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from standin.robot import JSON, Refusal, RobotStandIn

MAX_MARKDOWN_BYTES = 4096
MAX_IMAGE_BYTES = 2 * 1024 * 1024


@dataclass
class WeComStandIn(RobotStandIn):
    """A WeCom group robot. `images` holds the decoded images posted."""

    path = "/cgi-bin/webhook/send"
    token_param = "key"
    rate_errcode = 45009
    rate_errmsg = "api freq out of limit"
    token_errcode = 93000
    token_errmsg = "invalid webhook url"
    body_errcode = 40008

    def markdown_of(self, body: JSON) -> str:
        return str(body["markdown"]["content"])

    def images(self) -> list[bytes]:
        """The images posted, decoded, in order."""
        return [
            base64.b64decode(body["image"]["base64"])
            for body in self.posts
            if body.get("msgtype") == "image"
        ]

    def check(self, query: dict[str, str], body: JSON) -> None:
        kind = body.get("msgtype")
        if kind in ("text", "markdown"):
            content = (
                body.get(kind, {}).get("content") if isinstance(body.get(kind), dict) else None
            )
            if not content:
                raise Refusal(40008, "missing content")
            if len(str(content).encode("utf-8")) > MAX_MARKDOWN_BYTES:
                raise Refusal(40058, "content exceed max length 4096")
            return
        if kind != "image":
            raise Refusal(40008, f"invalid message type {kind!r}")
        image = body.get("image")
        if not isinstance(image, dict):
            raise Refusal(40008, "missing image")
        try:
            data = base64.b64decode(str(image.get("base64", "")), validate=True)
        except binascii.Error as exc:
            raise Refusal(40009, "invalid image base64") from exc
        if not data or len(data) > MAX_IMAGE_BYTES:
            raise Refusal(40009, "invalid image size")
        if hashlib.md5(data, usedforsecurity=False).hexdigest() != image.get("md5"):
            raise Refusal(301019, "media md5 not match")
