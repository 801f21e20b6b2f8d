"""The HTTP transport between python-telegram-bot and the Bot API: the framework's own
`telegram.request.HTTPXRequest` (httpx), as `build_application` configures it.

`make_request` builds one with the pool size, the timeouts of `telegram.timeout_seconds` and
the proxy of `telegram.proxy` (http, https, socks5 or socks5h; SOCKS needs the `socks` extra
of python-telegram-bot, which this project installs). Without a configured proxy httpx takes
one from the environment (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY). `make_transports`
builds the bot's pair (requests, long poll), which the benchmark's ceiling application uses too.

`HTTPXRequest` keeps the error contract that `bot.delivery.send` relies on: a timeout is
`telegram.error.TimedOut`, any other transport failure `telegram.error.NetworkError`, each
raised from httpx's exception (`__cause__`); `NOT_SENT_CAUSES` lists the causes that mean the
request never reached the Bot API, so a reminder can be retried without any risk of sending
it twice. The error texts quote httpx's message, which holds neither the request URL (with
the bot token) nor the proxy URL.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx
from telegram.request import BaseRequest, HTTPXRequest

# causes of TimedOut / NetworkError meaning the request never left this machine (or never got
# past the proxy)
NOT_SENT_CAUSES: tuple[type[BaseException], ...] = (
    httpx.ConnectError,  # refused, unreachable, DNS, TLS handshake (incl. to a proxy)
    httpx.ConnectTimeout,
    httpx.PoolTimeout,  # no free connection in the pool
    httpx.UnsupportedProtocol,
    httpx.ProxyError,  # the proxy refused the tunnel (407, 502, a SOCKS refusal, ...)
)


def make_request(
    *, connection_pool_size: int, timeout: float, proxy: str | None = None
) -> HTTPXRequest:
    """An `HTTPXRequest` with at most `connection_pool_size` connections, every timeout
    `timeout` seconds (config `telegram.timeout_seconds`; uploads keep the framework's 20 s
    write timeout) and `proxy` (config `telegram.proxy`, a URL already validated by
    `bot.config`) for every request; None or "" for the environment's proxy settings.

    Raises RuntimeError (from python-telegram-bot) for a SOCKS proxy when `socksio` is
    missing."""
    return HTTPXRequest(
        connection_pool_size=connection_pool_size,
        read_timeout=timeout,
        write_timeout=timeout,
        connect_timeout=timeout,
        pool_timeout=timeout,
        proxy=proxy or None,
    )


def make_transports(
    *, timeout: float, proxy: str | None = None
) -> tuple[HTTPXRequest, HTTPXRequest]:
    """The bot's two transports, as `build_application` uses them: one for its requests (16
    connections, as python-telegram-bot sends concurrently) and one for the long poll
    (`getUpdates`, one connection); `timeout` and `proxy` as for `make_request`."""
    return (
        make_request(connection_pool_size=16, timeout=timeout, proxy=proxy),
        make_request(connection_pool_size=1, timeout=timeout, proxy=proxy),
    )


async def close_transports(transports: Iterable[BaseRequest]) -> None:
    """Shut `transports` down (each is idempotent); for an application that failed to start,
    whose transports python-telegram-bot leaves open."""
    for transport in transports:
        await transport.shutdown()
