"""The Bot API transport (bot.transport): python-telegram-bot's HTTPXRequest as the bot builds
it keeps the framework's error contract, the send classification of bot.delivery works on it,
and the proxy comes from `[telegram] proxy` or the environment."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest

from bot.app import build_application
from bot.delivery import send
from bot.transport import NOT_SENT_CAUSES, make_request
from jobs.types import DeliveryOutcome
from standin import BotApiStandIn
from standin.harness import MutableClock, running, standin_settings
from tests.conftest import T0

USER = 4242
TOKEN = "123456:SECRET-token-part"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def slow_server(delay: float, seen: list[str] | None = None) -> AsyncIterator[str]:
    """A server that accepts the connection and answers every request after `delay` seconds
    (`True` as the Bot API result), noting each request's URL in `seen`."""

    async def handle(request: web.Request) -> web.Response:
        if seen is not None:
            seen.append(str(request.url))
        await asyncio.sleep(delay)
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}/bot"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def canned_server(status: int, body: bytes, content_type: str) -> AsyncIterator[str]:
    """A server answering every request (any method) with `status` and `body`."""

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=status, body=body, content_type=content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/bot"
    finally:
        await runner.cleanup()


def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP", "HTTPS", "ALL", "NO"):
        monkeypatch.delenv(f"{name}_PROXY", raising=False)
        monkeypatch.delenv(f"{name.lower()}_proxy", raising=False)


HTML_502 = b"<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"


@pytest.mark.parametrize(
    ("status", "body", "content_type", "outcome", "unreachable"),
    [
        # an error page of a proxy or nginx in front of the Bot API: certainly not delivered
        (502, HTML_502, "text/html", DeliveryOutcome.RETRY, False),
        (503, b"", "text/plain", DeliveryOutcome.RETRY, False),
        (
            500,
            b'{"ok":false,"error_code":500,"description":"Internal"}',
            "application/json",
            DeliveryOutcome.RETRY,
            False,
        ),
        # a revoked token: nothing goes out until it is fixed
        (
            401,
            b'{"ok":false,"error_code":401,"description":"Unauthorized"}',
            "application/json",
            DeliveryOutcome.RETRY,
            True,
        ),
        (404, HTML_502, "text/html", DeliveryOutcome.RETRY, True),
        # a 2xx answer that cannot be read: it may have been delivered
        (200, b"<html>ok</html>", "text/html", DeliveryOutcome.UNCERTAIN, False),
    ],
)
async def test_error_answers_are_classified_and_never_raise(
    status: int,
    body: bytes,
    content_type: str,
    outcome: DeliveryOutcome,
    unreachable: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _no_proxies(monkeypatch)
    async with canned_server(status, body, content_type) as base_url:
        async with AsyncBot(bot_on(base_url)) as bot:
            result = await send(bot, USER, "x")
    assert (result.outcome, result.api_unreachable) == (outcome, unreachable)
    assert result.error and TOKEN not in result.error


@pytest.mark.parametrize("source", ["environment", "config"])
async def test_a_proxy_refusing_the_tunnel_sent_nothing(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_proxies(monkeypatch)
    async with canned_server(407, b"Proxy Authentication Required", "text/plain") as proxy:
        host_port = proxy.removeprefix("http://").removesuffix("/bot")
        proxy_url = f"http://alice:PROXY-PASSWORD@{host_port}"
        if source == "environment":
            monkeypatch.setenv("HTTPS_PROXY", proxy_url)
        async with AsyncBot(
            bot_on("https://bot-api.invalid/bot", proxy=proxy_url if source == "config" else None)
        ) as bot:
            result = await send(bot, USER, "x")
    assert result.outcome is DeliveryOutcome.RETRY and result.api_unreachable
    assert result.error and "PROXY-PASSWORD" not in result.error and TOKEN not in result.error


async def test_an_unreachable_socks_proxy_sent_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_proxies(monkeypatch)
    proxy = f"socks5://bob:SOCKS-PASSWORD@127.0.0.1:{free_port()}"  # nobody listens there
    async with AsyncBot(bot_on("https://bot-api.invalid/bot", proxy=proxy)) as bot:
        with pytest.raises(NetworkError) as info:
            await bot.delete_webhook()
        assert isinstance(info.value.__cause__, NOT_SENT_CAUSES)
        result = await send(bot, USER, "x")
    assert result.outcome is DeliveryOutcome.RETRY and result.api_unreachable
    assert result.error is not None and "SOCKS-PASSWORD" not in result.error
    assert "SOCKS-PASSWORD" not in str(info.value) and TOKEN not in result.error


def bot_on(base_url: str, proxy: str | None = None, **timeouts: float) -> Bot:
    """A Bot on HTTPXRequest for both its requests and its long poll (as `build_application`),
    through `proxy` if given; with `timeouts`, those instead of `make_request`'s."""

    def one() -> Any:
        if not timeouts:
            return make_request(connection_pool_size=4, timeout=5, proxy=proxy)
        return HTTPXRequest(connection_pool_size=1, proxy=proxy, **timeouts)

    return Bot(TOKEN, base_url=base_url, request=one(), get_updates_request=one())


@asynccontextmanager
async def forwarding_proxy(seen: list[str]) -> AsyncIterator[str]:
    """A plain HTTP proxy on loopback (no CONNECT: for http:// targets only) that notes the
    first request line and the Proxy-Authorization header of each connection in `seen` and
    forwards the connection to 127.0.0.1 at the target's port, whatever the target's host
    (so `bot-api.invalid` is reachable only through it). Yields its URL."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *headers = head.decode("latin-1").split("\r\n")
        seen.append(request_line)
        seen.extend(h for h in headers if h.lower().startswith("proxy-authorization"))
        port = urlsplit(request_line.split(" ")[1]).port or 80
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        up_writer.write(head)  # absolute-form request targets are valid HTTP/1.1
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://alice:PROXY-PASSWORD@127.0.0.1:{port}"
    finally:
        server.close()


async def test_the_bot_reaches_the_bot_api_through_the_configured_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _no_proxies(monkeypatch)
    api = BotApiStandIn(bot_username="canggongwei_bot")
    await api.start()
    seen: list[str] = []
    try:
        api.user(USER, "李明")
        port = urlsplit(api.base_url).port
        async with forwarding_proxy(seen) as proxy:
            settings = standin_settings(
                api,
                f"sqlite:///{tmp_path / 'transport.sqlite3'}",
                telegram={
                    # resolvable only by way of the proxy
                    "base_url": f"http://bot-api.invalid:{port}/bot",
                    "base_file_url": f"http://bot-api.invalid:{port}/file/bot",
                    "proxy": proxy,
                },
                schedule={"tick_seconds": 3600},
            )
            app = build_application(settings, clock=MutableClock(T0))
            caplog.set_level(logging.DEBUG)
            async with running(app):
                assert isinstance(app.bot.request, HTTPXRequest)
                api.send_text(USER, "/whoami")
                await api.wait_for(lambda m: m.chat_id == USER and "身份" in m.plain_text)
            requests, long_poll = app.bot_data.transports
            assert all(isinstance(t, HTTPXRequest) for t in (requests, long_poll))
            assert requests is not long_poll
    finally:
        await api.stop()
    targets = [line.split(" ")[1] for line in seen if not line.lower().startswith("proxy-")]
    # both transports went through the proxy: the requests' and the long poll's connection
    assert any(t.endswith("/getUpdates") for t in targets), seen
    assert any(not t.endswith("/getUpdates") for t in targets), seen
    assert all(t.startswith(f"http://bot-api.invalid:{port}/bot") for t in targets)
    assert "Proxy-Authorization: Basic " in "\n".join(seen)  # the proxy's user:password
    assert "PROXY-PASSWORD" not in caplog.text


def test_make_request_builds_httpx_requests_with_the_proxy() -> None:
    request = make_request(connection_pool_size=2, timeout=3)
    assert isinstance(request, HTTPXRequest)
    assert request.read_timeout == 3
    socks = make_request(connection_pool_size=2, timeout=3, proxy="socks5://u:p@127.0.0.1:1080")
    assert isinstance(socks, HTTPXRequest)
    assert socks.read_timeout == 3


async def test_messages_and_documents_reach_the_stand_in() -> None:
    api = BotApiStandIn(bot_username="canggongwei_bot", token=TOKEN)
    await api.start()
    try:
        api.user(USER, "李明")
        async with bot_on(api.base_url) as bot:
            sent = await bot.send_message(USER, "<b>你好</b> &amp; 再见", parse_mode="HTML")
            assert sent.text == "你好 & 再见"
            content = "第1项，进展顺利。\n".encode() * 500 + bytes(range(256))
            doc = await bot.send_document(USER, content, filename="台账.xlsx", caption="导出")
            assert doc.document is not None
            assert doc.document.file_name == "台账.xlsx"
        messages = api.messages_to(USER)
        assert [m.method for m in messages] == ["sendMessage", "sendDocument"]
        assert messages[0].plain_text == "你好 & 再见"
        assert messages[1].file_content == content
        assert messages[1].plain_text == "导出"
    finally:
        await api.stop()


async def test_refused_connection_is_not_sent_and_retried_later() -> None:
    base_url = f"http://127.0.0.1:{free_port()}/bot"  # nobody listens there
    async with AsyncBot(bot_on(base_url, connect_timeout=2)) as bot:
        with pytest.raises(NetworkError) as info:
            await bot.send_message(USER, "x")
        assert isinstance(info.value.__cause__, NOT_SENT_CAUSES)
        assert TOKEN not in str(info.value)
        result = await send(bot, USER, "x")
    assert result.outcome is DeliveryOutcome.RETRY
    assert result.api_unreachable


async def test_an_answer_slower_than_the_read_timeout_is_uncertain() -> None:
    async with slow_server(delay=1.5) as base_url:
        async with AsyncBot(bot_on(base_url, read_timeout=0.3)) as bot:
            with pytest.raises(TimedOut) as info:
                await bot.send_message(USER, "x")
            assert not isinstance(info.value.__cause__, NOT_SENT_CAUSES)
            assert TOKEN not in str(info.value)
            result = await send(bot, USER, "x")
    # the request reached the server: it may have been delivered, so it is not resent
    assert result.outcome is DeliveryOutcome.UNCERTAIN
    assert not result.api_unreachable


async def test_waiting_for_a_free_connection_is_a_pool_timeout_that_sent_nothing() -> None:
    async with slow_server(delay=1.5) as base_url:
        request = HTTPXRequest(
            connection_pool_size=1, read_timeout=5, connect_timeout=0.1, pool_timeout=0.2
        )
        async with AsyncBot(Bot(TOKEN, base_url=base_url, request=request)) as bot:
            first = asyncio.create_task(bot.send_message(USER, "holds the only connection"))
            await asyncio.sleep(0.2)
            result = await send(bot, USER, "waits for it")
            assert result.outcome is DeliveryOutcome.RETRY
            assert result.api_unreachable
            first.cancel()
            with pytest.raises((asyncio.CancelledError, Exception)):
                await first


async def test_the_proxy_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    async with slow_server(delay=0, seen=seen) as proxy_url:
        proxy = proxy_url.removesuffix("/bot")
        _no_proxies(monkeypatch)
        monkeypatch.setenv("HTTP_PROXY", proxy)
        target = "http://bot-api.invalid/bot"  # resolvable only by way of the proxy
        async with AsyncBot(bot_on(target)) as bot:
            assert await bot.delete_webhook() is True
        assert seen == [f"http://bot-api.invalid/bot{TOKEN}/deleteWebhook"]
        # NO_PROXY names the host: a direct connection, which cannot resolve it
        monkeypatch.setenv("NO_PROXY", "bot-api.invalid")
        async with AsyncBot(bot_on(target, connect_timeout=3)) as bot:
            result = await send(bot, USER, "x")
        assert result.outcome is DeliveryOutcome.RETRY and result.api_unreachable
        assert len(seen) == 1


class AsyncBot:
    """`async with` a Bot without its `getMe` (the server may not answer it)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def __aenter__(self) -> Bot:
        await self.bot._request[1].initialize()  # type: ignore[attr-defined]
        await self.bot._request[0].initialize()  # type: ignore[attr-defined]
        return self.bot

    async def __aexit__(self, *exc: object) -> None:
        await self.bot._request[1].shutdown()  # type: ignore[attr-defined]
        await self.bot._request[0].shutdown()  # type: ignore[attr-defined]
