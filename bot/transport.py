"""The HTTP transport between python-telegram-bot and the Bot API.

python-telegram-bot sends its requests through a `telegram.request.BaseRequest`; its own,
`HTTPXRequest`, costs about 1.0-1.3 ms of CPU per request on this project's machine (httpx and
httpcore, measured with `Bot.send_message` against a local server), `AiohttpRequest` about
0.4 ms. A bot that answers a button press makes two or three requests per update (the long
poll, `answerCallbackQuery`, the answer), so the transport is most of its CPU (see
docs/benchmarks.md, figure 1). `telegram.http_client` in the config chooses: "aiohttp" (the
default) or "httpx" (the framework's).

Both keep the framework's error contract, which `bot.delivery.send` relies on: a timeout is
`telegram.error.TimedOut`, any other transport failure `telegram.error.NetworkError`, each
raised from the transport's own exception; `NOT_SENT_CAUSES` lists the causes that mean the
request never reached the Bot API (connection refused, DNS, connect or pool timeout), so a
reminder can be retried without any risk of sending it twice. Error texts never contain the
request URL, which holds the bot token.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal
from urllib.parse import urlsplit
from urllib.request import (  # type: ignore[attr-defined]  # not in typeshed
    getproxies_environment,
    proxy_bypass_environment,
)

import aiohttp
import httpx
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.config import hide_url_passwords


class UnsupportedProxy(Exception):
    """The environment names a proxy that aiohttp cannot use (SOCKS); nothing was sent."""


# causes of TimedOut / NetworkError meaning the request never left this machine (or never got
# past the proxy)
NOT_SENT_CAUSES: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,  # the proxy refused the tunnel (407, 502, ...)
    aiohttp.ClientConnectorError,  # refused, unreachable, DNS (incl. certificate errors)
    aiohttp.ConnectionTimeoutError,  # connect timeout, or no free connection in the pool
    aiohttp.ClientHttpProxyError,  # the proxy refused the tunnel (407, 502, ...)
    aiohttp.InvalidURL,
    UnsupportedProxy,
)

HttpClient = Literal["aiohttp", "httpx"]


def _redact(text: str, url: str) -> str:
    """`text` without `url` and without its path (both hold the bot token), and without the
    password of any URL in it (a proxy's `user:password@`)."""
    path = url.split("://", 1)[-1].partition("/")[2]
    text = text.replace(url, "<Bot API URL>")
    if path:
        text = text.replace(path, "<Bot API path>")
    return hide_url_passwords(text)


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` on one `aiohttp.ClientSession` (opened by `initialize`, closed by
    `shutdown`, as the framework calls them).

    Timeouts are in seconds, `None` for none, and apply nearly as the framework's do:
    `connect` to open a connection; `pool` + `connect` to get a free one (at most
    `connection_pool_size` connections) and open it, as aiohttp bounds them together; `read`
    between two reads of the answer; aiohttp has no write timeout, so the whole request is
    also bounded by the sum of the four when all are finite. Files (for
    `sendDocument`) go as multipart/form-data, other parameters form-encoded, as with httpx.
    Proxies come from the environment (HTTPS_PROXY etc.), as with httpx.

    Raises (from `do_request`): `TimedOut` on any timeout, `NetworkError` on any other
    client error, each from aiohttp's exception.
    """

    __slots__ = ("_connect", "_pool", "_pool_size", "_proxies", "_read", "_session", "_write")

    def __init__(
        self,
        *,
        connection_pool_size: int = 8,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    def _proxy_for(self, url: str) -> str | None:
        """The proxy for `url` from the environment (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and
        NO_PROXY, any case, as urllib and httpx read them), looked up once per scheme and
        host; None for a direct connection. Raises `UnsupportedProxy` for a SOCKS proxy."""
        parts = urlsplit(url)
        origin = (parts.scheme, parts.hostname or "")
        if origin not in self._proxies:
            proxies = getproxies_environment()
            proxy = proxies.get(parts.scheme) or proxies.get("all")
            if proxy and parts.hostname and proxy_bypass_environment(parts.hostname, proxies):
                proxy = None
            self._proxies[origin] = proxy or None
        proxy = self._proxies[origin]
        if proxy is not None and not proxy.lower().startswith(("http://", "https://")):
            raise UnsupportedProxy(
                f"the proxy {_redact(proxy, url)} from the environment is not an HTTP proxy, "
                'which http_client = "aiohttp" needs; use an HTTP proxy, or http_client = '
                '"httpx" with python-telegram-bot[socks] installed'
            )
        return proxy

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout in seconds (the long poll adds its own wait to it)."""
        return self._read

    async def initialize(self) -> None:
        """Open the session (idempotent)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                # not trust_env: aiohttp would then look the proxy and ~/.netrc up in a thread
                # on every request (two thread hops each); the proxy is found once instead
                trust_env=False,
                raise_for_status=False,
            )
            self._proxies = {}

    async def shutdown(self) -> None:
        """Close the session and its connections (idempotent)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Make one request; return the HTTP status and the body (the framework reads them)."""
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        read = self._read if read_timeout is BaseRequest.DEFAULT_NONE else read_timeout
        write = self._write if write_timeout is BaseRequest.DEFAULT_NONE else write_timeout
        connect = self._connect if connect_timeout is BaseRequest.DEFAULT_NONE else connect_timeout
        pool = self._pool if pool_timeout is BaseRequest.DEFAULT_NONE else pool_timeout
        parts = (read, write, connect, pool)
        timeout = aiohttp.ClientTimeout(
            total=sum(parts) if None not in parts else None,  # type: ignore[arg-type]
            connect=connect + pool if connect is not None and pool is not None else None,
            sock_connect=connect,
            sock_read=read,
        )
        data: aiohttp.FormData | dict[str, str] | None = None
        if request_data is not None:
            files = request_data.multipart_data
            if files:
                form = aiohttp.FormData(quote_fields=False)  # UTF-8 file names, as httpx
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mimetype) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mimetype)
                data = form
            else:
                data = request_data.json_parameters
        try:
            proxy = self._proxy_for(url)
        except UnsupportedProxy as exc:
            raise NetworkError(str(exc)) from exc
        try:
            async with self._session.request(
                method, url, data=data, timeout=timeout, proxy=proxy
            ) as answer:
                return answer.status, await answer.read()
        except TimeoutError as exc:
            raise TimedOut(_redact(f"aiohttp.{type(exc).__name__}: {exc}", url)) from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(_redact(f"aiohttp.{type(exc).__name__}: {exc}", url)) from exc


def make_request(
    client: HttpClient,
    *,
    connection_pool_size: int,
    timeout: float,
) -> BaseRequest:
    """The transport named by `telegram.http_client`, every timeout `timeout` seconds
    (config `telegram.timeout_seconds`), at most `connection_pool_size` connections."""
    if client == "httpx":
        return HTTPXRequest(
            connection_pool_size=connection_pool_size,
            read_timeout=timeout,
            write_timeout=timeout,
            connect_timeout=timeout,
            pool_timeout=timeout,
        )
    return AiohttpRequest(
        connection_pool_size=connection_pool_size,
        read_timeout=timeout,
        write_timeout=timeout,
        connect_timeout=timeout,
        pool_timeout=timeout,
    )


async def close_transports(transports: Iterable[BaseRequest]) -> None:
    """Shut `transports` down (each is idempotent); for an application that failed to start,
    whose transports python-telegram-bot leaves open."""
    for transport in transports:
        await transport.shutdown()
