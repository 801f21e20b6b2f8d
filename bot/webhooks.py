"""The digest in the committee's DingTalk and WeCom groups, through their group robots'
webhooks (one-way: these robots only post).

- DingTalk custom robot: POST `<webhook>` (https://oapi.dingtalk.com/robot/send?access_token=…)
  with `{"msgtype": "markdown", "markdown": {"title", "text"}}`; when the robot is signed
  (加签) the URL gains `&timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256>` (`sign`). The
  text is cut into parts of at most `DINGTALK_MAX_BYTES` UTF-8 bytes. Images need a public
  URL there, so the chart does not go to DingTalk.
- WeCom group robot: POST `<webhook>` (https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…)
  with `{"msgtype": "markdown", "markdown": {"content"}}`, at most `WECOM_MAX_BYTES` bytes a
  part; the chart PNG (optional) follows as `{"msgtype": "image", "image": {"base64", "md5"}}`.

Both answer HTTP 200 with `{"errcode": 0, ...}` when the message is posted; each robot takes
20 messages a minute (DingTalk then throttles it for 10 minutes, errcode 130101; WeCom answers
45009). `robot_limiter` keeps each robot below that.

The weekly digest goes to each configured robot once per ISO week, with the Telegram
digest's guarantee (`bot.delivery`): claimed in the send ledger before the first post (key
"digest:<ISO week>:<channel>:<fingerprint>", the markdown parts in `body`), each part
recorded as it goes out, settled after. A post that certainly did not arrive (connection
refused, an HTTP error status, an errcode other than 0 such as the rate limit) is RETRY and
resumes at that part after the ledger's backoff (`repo.retry_backoff`: 30 s doubling, at
most 30 minutes; a misconfigured robot is not hammered every minute); a timeout after
sending is UNCERTAIN and never resent. The coordinators are told once of either.
The ledger's destination is the webhook's `fingerprint`, never its URL: the URL holds the
robot's token.

HTTP goes through httpx with `trust_env=True` (HTTPS_PROXY, NO_PROXY) and never through
`telegram.proxy`, which is for the Bot API only. Webhook URLs, their tokens and the signing
secret never reach a log (`webhook_secrets` feeds `bot.redact`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, quote_plus, urlsplit

import httpx
from aiolimiter import AsyncLimiter
from sqlmodel import select
from telegram import Bot, Update

from bot import render, texts
from bot.access import coordinator_only
from bot.config import Settings
from bot.context import BotContext, Services
from bot.delivery import CHART_PART, digest_key, tell_coordinators
from bot.handlers import REPEAT_WINDOW, reply
from bot.reads import current_digest, current_digest_chart
from bot.redact import redact
from bot.transport import NOT_SENT_CAUSES
from db import repo
from db.models import Delivery
from jobs.schedule import digest_before_first_start, digest_due
from jobs.types import DeliveryKind, DeliveryOutcome

log = logging.getLogger(__name__)

DINGTALK = "dingtalk"
WECOM = "wecom"
DINGTALK_MAX_BYTES = 20000  # markdown text, UTF-8 bytes
WECOM_MAX_BYTES = 4096  # markdown content, UTF-8 bytes
WECOM_MAX_IMAGE_BYTES = 2 * 1024 * 1024  # the image before base64
PER_MINUTE = 20  # messages a minute per robot, both platforms
RATE_LIMITED_ERRCODES = frozenset({130101, 45009})  # DingTalk, WeCom: sent too fast
TIMEOUT_SECONDS = 10.0
PART_MARK_RESERVE = 64  # bytes kept free in each part for its "（续 i/n）" line


@dataclass(frozen=True)
class Robot:
    """One configured group robot: `channel` (DINGTALK or WECOM), its webhook `url` and
    DingTalk's signing `secret` ("" when the robot is not signed). Both are secrets."""

    channel: str
    url: str
    secret: str = ""

    @property
    def fingerprint(self) -> str:
        """The first 12 hex digits of the SHA-256 of the URL: the robot's name in the send
        ledger and in logs (the URL itself holds its token)."""
        return hashlib.sha256(self.url.encode()).hexdigest()[:12]

    @property
    def max_bytes(self) -> int:
        """The most UTF-8 bytes of markdown one message to this robot may carry."""
        return DINGTALK_MAX_BYTES if self.channel == DINGTALK else WECOM_MAX_BYTES

    @property
    def takes_images(self) -> bool:
        """Whether a PNG can be posted without a public URL (WeCom only)."""
        return self.channel == WECOM

    def secrets(self) -> list[str]:
        """What must never be logged: the URL, each value of its query (the token) and the
        signing secret."""
        values = [v for _, v in parse_qsl(urlsplit(self.url).query) if len(v) >= 8]
        return [s for s in (self.url, *values, self.secret) if s]


def configured_robots(settings: Settings) -> list[Robot]:
    """The robots of `[dingtalk]` and `[wecom]` that have a webhook, DingTalk first."""
    robots = []
    dingtalk = settings.dingtalk.webhook.get_secret_value()
    if dingtalk:
        robots.append(Robot(DINGTALK, dingtalk, settings.dingtalk.secret.get_secret_value()))
    wecom = settings.wecom.webhook.get_secret_value()
    if wecom:
        robots.append(Robot(WECOM, wecom))
    return robots


def webhook_secrets(settings: Settings) -> list[str]:
    """Every webhook secret of `settings`, for `bot.redact.RedactingFilter`."""
    return [s for robot in configured_robots(settings) for s in robot.secrets()]


def sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk's signature of a request: base64 of HMAC-SHA256 keyed with `secret` over
    "<timestamp_ms>\\n<secret>" (UTF-8), not yet URL-encoded."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def post_url(robot: Robot, now: datetime) -> str:
    """The URL to post to at `now` (aware): a signed DingTalk robot's gets `timestamp`
    (milliseconds since the epoch) and `sign` (URL-encoded) appended."""
    if robot.channel != DINGTALK or not robot.secret:
        return robot.url
    timestamp = int(now.timestamp() * 1000)
    signature = quote_plus(sign(timestamp, robot.secret))
    joiner = "&" if urlsplit(robot.url).query else "?"
    return f"{robot.url}{joiner}timestamp={timestamp}&sign={signature}"


_TAGS = (
    (re.compile(r"</?b>|</?strong>"), "**"),
    (re.compile(r"</?i>|</?em>"), "*"),
    (re.compile(r"</?code>|</?pre>"), "`"),
)
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)
_ANY_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def markdown_line(line: str) -> str:
    """One line of Telegram HTML (`bot.render`) as markdown both platforms show: bold,
    italic, code and links kept, other tags dropped, entities unescaped."""
    line = _LINK.sub(lambda m: f"[{m.group(2)}]({html.unescape(m.group(1))})", line)
    for pattern, mark in _TAGS:
        line = pattern.sub(mark, line)
    return html.unescape(_ANY_TAG.sub("", line))


def _cut(line: str, limit: int) -> list[str]:
    """`line` in pieces of at most `limit` UTF-8 bytes, never inside a character."""
    pieces: list[str] = []
    while len(line.encode("utf-8")) > limit:
        cut = line.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
        pieces.append(cut)
        line = line[len(cut) :]
    return [*pieces, line]


def markdown_parts(html_parts: Sequence[str], max_bytes: int) -> list[str]:
    """The digest's Telegram HTML parts as markdown messages of at most `max_bytes` UTF-8
    bytes each, lines packed in order (each line a paragraph: both platforms need a blank
    line for a line break in markdown); parts after the first start with "（续 i/n）". The
    Telegram parts' own "（续 …）" lines are dropped (the parts are packed anew)."""
    lines = [
        markdown_line(line)
        for part in html_parts
        for line in part.split("\n")
        if line.strip() and not re.fullmatch(r"（续 \d+/\d+）", _ANY_TAG.sub("", line).strip())
    ]
    budget = max_bytes - PART_MARK_RESERVE
    parts: list[list[str]] = [[]]
    size = 0
    for piece in (piece for line in lines for piece in _cut(line, budget)):
        length = len(piece.encode("utf-8")) + 2
        if parts[-1] and size + length > budget:
            parts.append([])
            size = 0
        parts[-1].append(piece)
        size += length
    total = len(parts)
    return [
        "\n\n".join(([texts.WEBHOOK_PART.format(index=i + 1, total=total)] if i else []) + part)
        for i, part in enumerate(parts)
    ]


def text_message(robot: Robot, text: str) -> dict[str, object]:
    """The JSON body posting markdown `text` to `robot`."""
    if robot.channel == DINGTALK:
        return {"msgtype": "markdown", "markdown": {"title": texts.WEBHOOK_TITLE, "text": text}}
    return {"msgtype": "markdown", "markdown": {"content": text}}


def image_message(png: bytes) -> dict[str, object]:
    """The JSON body of a WeCom image message (`png` at most `WECOM_MAX_IMAGE_BYTES`)."""
    return {
        "msgtype": "image",
        "image": {
            "base64": base64.b64encode(png).decode("ascii"),
            "md5": hashlib.md5(png, usedforsecurity=False).hexdigest(),
        },
    }


@dataclass(frozen=True)
class PostResult:
    """What one webhook post came to, and the error (never holding the URL)."""

    outcome: DeliveryOutcome
    error: str | None = None


def robot_limiter(svc: Services, robot: Robot) -> AsyncLimiter:
    """The rate limiter of `robot`, made on first use: a burst of 4, then one every 4
    seconds, so no minute holds more than 19 posts (limit `PER_MINUTE`)."""
    limiter = svc.webhook_limiters.get(robot.fingerprint)
    if limiter is None:
        limiter = svc.webhook_limiters[robot.fingerprint] = new_limiter()
    return limiter


def new_limiter(window_seconds: float = 60.0) -> AsyncLimiter:
    """A leaky bucket of capacity 4 draining 15 per `window_seconds`: at most 19 posts in
    any window (4 at once + 15 drained), one below `PER_MINUTE`."""
    return AsyncLimiter(4, window_seconds * 4 / 15)


def open_client() -> httpx.AsyncClient:
    """The HTTP client for the webhooks: the environment's proxy settings (HTTPS_PROXY,
    NO_PROXY), never `telegram.proxy`; every timeout `TIMEOUT_SECONDS`."""
    return httpx.AsyncClient(trust_env=True, timeout=TIMEOUT_SECONDS)


async def post(
    client: httpx.AsyncClient,
    robot: Robot,
    body: dict[str, object],
    limiter: AsyncLimiter,
    now: datetime,
) -> PostResult:
    """Post `body` to `robot` once its limiter lets it go, signed at `now`; never raises
    for network or platform errors.

    SENT on errcode 0; RETRY when it certainly was not posted (the request never left,
    `bot.transport.NOT_SENT_CAUSES`; an HTTP error status; an errcode other than 0, e.g.
    the rate limit); UNCERTAIN when it may have been (a timeout or broken connection after
    sending, an unreadable 2xx answer)."""
    async with limiter:
        try:
            response = await client.post(post_url(robot, now), json=body)
        except NOT_SENT_CAUSES as exc:
            return PostResult(DeliveryOutcome.RETRY, _describe(exc, robot))
        except httpx.HTTPError as exc:
            return PostResult(DeliveryOutcome.UNCERTAIN, _describe(exc, robot))
    if response.status_code >= 400:
        return PostResult(DeliveryOutcome.RETRY, f"HTTP {response.status_code}")
    try:
        answer = response.json()
        errcode = int(answer.get("errcode", -1))
    except (ValueError, AttributeError, TypeError):
        return PostResult(DeliveryOutcome.UNCERTAIN, "unreadable answer")
    if errcode != 0:
        message = redact(str(answer.get("errmsg", ""))[:200], *robot.secrets())
        kind = " (rate limit)" if errcode in RATE_LIMITED_ERRCODES else ""
        return PostResult(DeliveryOutcome.RETRY, f"errcode {errcode}{kind}: {message}")
    return PostResult(DeliveryOutcome.SENT)


def _describe(exc: BaseException, robot: Robot) -> str:
    return redact(f"{type(exc).__name__}: {exc}", *robot.secrets())


async def post_parts(
    svc: Services,
    robot: Robot,
    parts: Sequence[str],
    *,
    delivery_id: int | None = None,
    start: int = 0,
    png: bytes | None = None,
    resumable: bool = False,
) -> tuple[DeliveryOutcome, int, str | None]:
    """Post markdown `parts` `start`.. to `robot` in order, then `png` (WeCom only, at most
    `WECOM_MAX_IMAGE_BYTES`; best effort: its failure is logged, not retried).

    Returns the outcome (SENT, or that of the first part not posted, where it stops), how
    many parts are posted in all and the error. With `delivery_id` each posted part is
    recorded in the ledger at once; a `resumable` post stops between parts when the
    application is stopping (RETRY: it resumes after the restart)."""
    async with open_client() as client:
        limiter = robot_limiter(svc, robot)
        for index in range(start, len(parts)):
            if resumable and index > start and svc.stop_requested():
                return DeliveryOutcome.RETRY, index, "stopped before this part"
            result = await post(
                client, robot, text_message(robot, parts[index]), limiter, svc.now()
            )
            if result.outcome != DeliveryOutcome.SENT:
                log.warning(
                    "%s digest part %d/%d %s to robot %s: %s",
                    robot.channel,
                    index + 1,
                    len(parts),
                    result.outcome.value,
                    robot.fingerprint,
                    result.error,
                )
                return result.outcome, index, result.error
            if delivery_id is not None:
                with svc.db.session() as s:
                    repo.delivery_part_sent(s, delivery_id=delivery_id, parts_sent=index + 1)
        if png and robot.takes_images and len(png) <= WECOM_MAX_IMAGE_BYTES:
            image = await post(client, robot, image_message(png), limiter, svc.now())
            if image.outcome != DeliveryOutcome.SENT:
                log.warning(
                    "%s digest chart %s to robot %s: %s",
                    robot.channel,
                    image.outcome.value,
                    robot.fingerprint,
                    image.error,
                )
    return DeliveryOutcome.SENT, len(parts), None


STALE_AFTER = timedelta(days=6)  # a digest not posted by then is overtaken by the next one


def _week_html(svc: Services, period: str) -> list[str] | None:
    """The HTML parts of this week's Telegram digest when it was claimed (None otherwise):
    the groups get the same digest, and a digest rendered after it would cover only the
    minutes since."""
    chat_id = svc.settings.telegram.digest_chat_id
    if chat_id is None:
        return None
    with svc.db.session() as s:
        row = s.exec(select(Delivery).where(Delivery.key == digest_key(period, chat_id))).first()
        if row is None:
            return None
        # the text parts: the picture's part ("<chart>") is posted as an image where it can be
        return [part for part in repo.delivery_parts(row) if not part.startswith(CHART_PART)]


async def _post_claimed(
    svc: Services, robot: Robot, row: Delivery, png: bytes | None, bot: Bot | None
) -> DeliveryOutcome:
    parts = repo.delivery_parts(row)
    outcome, sent, error = await post_parts(
        svc,
        robot,
        parts,
        delivery_id=row.id,
        start=row.parts_sent,
        png=png if row.parts_sent == 0 else None,
        resumable=True,
    )
    with svc.db.session() as s:
        repo.settle_delivery(
            s, delivery_id=row.id or 0, outcome=outcome, now=svc.now(), error=error
        )
    log.info(
        "weekly digest to %s %s: key=%s parts=%d/%d",
        robot.channel,
        outcome.value,
        row.key,
        sent,
        len(parts),
    )
    first_retry = (
        outcome == DeliveryOutcome.RETRY and row.attempts == 1 and not svc.stop_requested()
    )
    if bot is not None and (first_retry or outcome == DeliveryOutcome.UNCERTAIN):
        # said once: a RETRY goes on by itself, an uncertain post is never resent
        template = texts.WEBHOOK_DIGEST_RETRYING if first_retry else texts.WEBHOOK_DIGEST_FAILED
        await tell_coordinators(
            bot,
            svc,
            template.format(
                channel=texts.WEBHOOK_CHANNEL[robot.channel],
                sent=sent,
                total=len(parts),
                reason=render.esc(error or outcome.value),
            ),
        )
    return outcome


async def post_weekly_webhook_digests(
    svc: Services,
    held: frozenset[int] = frozenset(),
    png: bytes | None = None,
    bot: Bot | None = None,
    chart: Callable[[], Awaitable[bytes | None]] | None = None,
) -> int:
    """Post this week's digest to each configured group robot if due and not yet posted
    there; return how many robots got it whole now. `held` as for
    `bot.delivery.post_weekly_digest`; `png` is the chart (WeCom only), or else `chart`
    draws it, once and only when a robot that takes images starts a post. With `bot`, the
    coordinators are told once when a post first fails (it is retried with the ledger's
    backoff) or ends uncertain.

    First resumes the posts stopped by a certain failure (RETRY, after the ledger's backoff)
    at their next part; a robot whose webhook changed since, or a post older than
    `STALE_AFTER` (the next week's digest supersedes it), is settled FAILED unsent. The digest is
    the Telegram digest of the week when that was claimed (`_week_html`), else rendered now."""
    robots = {(r.channel, r.fingerprint): r for r in configured_robots(svc.settings)}
    done = 0
    drawn: list[bytes | None] = [png] if png is not None else []

    async def picture(robot: Robot, row: Delivery) -> bytes | None:
        if not robot.takes_images or row.parts_sent:
            return None
        if not drawn:
            drawn.append(await chart() if chart is not None else None)
        return drawn[0]

    for channel in (DINGTALK, WECOM):
        while True:
            with svc.db.session() as s:
                row = repo.claim_retry(s, kind=DeliveryKind.DIGEST, now=svc.now(), channel=channel)
                if row is not None:
                    s.expunge(row)
            if row is None:
                break
            robot = robots.get((channel, row.destination))
            stale = svc.now() - row.created_at >= STALE_AFTER
            if robot is None or stale:  # gone, or overtaken by the next week's digest
                with svc.db.session() as s:
                    repo.settle_delivery(
                        s,
                        delivery_id=row.id or 0,
                        outcome=DeliveryOutcome.FAILED,
                        now=svc.now(),
                        error="superseded by a newer digest"
                        if stale
                        else "webhook no longer configured",
                    )
                continue
            picture_png = await picture(robot, row)
            done += await _post_claimed(svc, robot, row, picture_png, bot) == DeliveryOutcome.SENT
    if not robots:
        return done
    now = svc.now()
    period = digest_due(now, svc.digest_schedule, svc.calendar)
    if period is None:
        return done
    keys = {r: f"digest:{period}:{r.channel}:{r.fingerprint}" for r in robots.values()}
    with svc.db.session() as s:
        todo = [r for r, key in keys.items() if not repo.key_claimed(s, key=key)]
        first_start = repo.first_start(s)
    if not todo or digest_before_first_start(
        period, first_start, svc.digest_schedule, svc.calendar
    ):
        return done
    html_parts = _week_html(svc, period)
    if html_parts is None:
        html_parts = await current_digest(svc, leave_out=held)
    if not html_parts:
        return done  # every active plan is held: the digest waits
    for robot in todo:
        with svc.db.session() as s:
            row = repo.claim_delivery(
                s,
                key=keys[robot],
                kind=DeliveryKind.DIGEST,
                destination=robot.fingerprint,
                channel=robot.channel,
                now=now,
                parts=markdown_parts(html_parts, robot.max_bytes),
            )
            if row is not None:
                s.expunge(row)
        if row is None:
            continue
        picture_png = await picture(robot, row)
        done += await _post_claimed(svc, robot, row, picture_png, bot) == DeliveryOutcome.SENT
    return done


async def post_digest_now(
    svc: Services, html_parts: Sequence[str], by: int, png: bytes | None = None
) -> list[tuple[Robot, DeliveryOutcome, str | None]]:
    """Post the digest `html_parts` (rendered by the caller) to every configured robot now,
    for coordinator `by`: each post recorded in the ledger (kind ON_DEMAND, destination the
    robot's fingerprint) and not retried. Returns each robot's outcome and error."""
    results = []
    now = svc.now()
    for robot in configured_robots(svc.settings):
        with svc.db.session() as s:
            row = repo.claim_delivery(
                s,
                key=f"digest:on_demand:{robot.channel}:{robot.fingerprint}:{now.isoformat()}:{by}",
                kind=DeliveryKind.ON_DEMAND,
                destination=robot.fingerprint,
                channel=robot.channel,
                now=now,
            )
            claimed_id = row.id if row is not None else None
        if claimed_id is None:
            continue
        parts = markdown_parts(html_parts, robot.max_bytes)
        outcome, sent, error = await post_parts(svc, robot, parts, delivery_id=claimed_id, png=png)
        with svc.db.session() as s:
            repo.settle_delivery(
                s, delivery_id=claimed_id, outcome=outcome, now=svc.now(), error=error
            )
        log.info(
            "digest on demand to %s %s: robot=%s by=%s parts=%d/%d",
            robot.channel,
            outcome.value,
            robot.fingerprint,
            by,
            sent,
            len(parts),
        )
        results.append((robot, outcome, error))
    return results


async def test_channels(settings: Settings, now: datetime) -> list[tuple[Robot, PostResult]]:
    """Post `texts.WEBHOOK_TEST` to every configured robot once (for `taskbot channels
    test`), signed at `now`; nothing is recorded. Returns each robot's result."""
    results = []
    async with open_client() as client:
        for robot in configured_robots(settings):
            body = text_message(robot, texts.WEBHOOK_TEST)
            results.append((robot, await post(client, robot, body, new_limiter(), now)))
    return results


@coordinator_only
async def digest_groups_command(update: Update, context: BotContext) -> None:
    """/digest_groups (coordinator, any chat): post the current digest to the DingTalk and
    WeCom groups now (`post_digest_now`) and answer with each group's outcome. Asked again
    within `bot.handlers.REPEAT_WINDOW` of a post to any of them, it posts nothing and says
    so (a double tap must not post twice to a group of leaders)."""
    user = update.effective_user
    if user is None:
        return
    svc = context.svc
    robots = configured_robots(svc.settings)
    if not robots:
        await reply(update, texts.DIGEST_GROUPS_NONE)
        return
    since = svc.now() - REPEAT_WINDOW
    with svc.db.session() as s:
        recent = [
            robot
            for robot in robots
            if repo.recent_delivery(
                s, kind=DeliveryKind.ON_DEMAND, destination=robot.fingerprint, since=since
            )
            is not None
        ]
    if recent:
        await reply(update, texts.DIGEST_GROUPS_REPEATED)
        return
    png = await current_digest_chart(svc) if any(r.takes_images for r in robots) else None
    results = await post_digest_now(svc, await current_digest(svc), by=user.id, png=png)
    lines = []
    for robot, outcome, error in results:
        channel = texts.WEBHOOK_CHANNEL[robot.channel]
        if outcome == DeliveryOutcome.SENT:
            lines.append(texts.DIGEST_GROUPS_SENT.format(channel=channel))
        elif outcome == DeliveryOutcome.UNCERTAIN:
            lines.append(texts.DIGEST_GROUPS_UNCERTAIN.format(channel=channel))
        else:
            reason = render.esc(error or outcome.value)
            lines.append(texts.DIGEST_GROUPS_NOT_SENT.format(channel=channel, reason=reason))
    await reply(update, texts.DIGEST_GROUPS_RESULT.format(lines="\n".join(lines)))
