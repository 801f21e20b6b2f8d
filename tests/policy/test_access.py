"""Unit tests of the coordinator guard (bot/access.py) with stand-in update objects: the
wrapped handler runs only for coordinators; anyone else gets `texts.NOT_COORDINATOR`, as an
alert on a button press and as a reply to a message. The end-to-end matrix of who may use
which command is tests/e2e/test_access_matrix.py."""

from __future__ import annotations

from contextlib import nullcontext
from types import SimpleNamespace
from typing import Any

from bot import texts
from bot.access import coordinator_only, is_coordinator

COORDINATOR, OTHER = 1001, 2002


class Recorder:
    """Collects what the guard sends: message replies and callback answers."""

    def __init__(self) -> None:
        self.replies: list[str] = []
        self.answers: list[tuple[str | None, bool]] = []

    async def reply_text(self, text: str, **_: Any) -> None:
        self.replies.append(text)

    async def answer(self, text: str | None = None, show_alert: bool = False) -> None:
        self.answers.append((text, show_alert))


class _NoGrants:
    """A session stand-in in which nobody holds a role granted in chat."""

    def exec(self, _statement: object) -> Any:
        return SimpleNamespace(first=lambda: None)


def _context() -> Any:
    settings = SimpleNamespace(telegram=SimpleNamespace(coordinators=[COORDINATOR], leaders=[]))
    db = SimpleNamespace(shared_across_threads=False, session=lambda: nullcontext(_NoGrants()))
    return SimpleNamespace(svc=SimpleNamespace(settings=settings, db=db))


def _update(user_id: int | None, *, button: bool, sink: Recorder) -> Any:
    user = SimpleNamespace(id=user_id) if user_id is not None else None
    return SimpleNamespace(
        effective_user=user,
        callback_query=sink if button else None,
        effective_message=sink,
    )


async def test_is_coordinator_reads_the_configured_list() -> None:
    svc = _context().svc
    assert await is_coordinator(svc, COORDINATOR) is True
    assert await is_coordinator(svc, OTHER) is False
    assert await is_coordinator(svc, None) is False


async def test_guard_calls_the_handler_for_a_coordinator_only() -> None:
    calls: list[int] = []

    @coordinator_only
    async def handler(update: Any, context: Any) -> str:
        calls.append(update.effective_user.id)
        return "ran"

    for button in (False, True):
        sink = Recorder()
        assert await handler(_update(COORDINATOR, button=button, sink=sink), _context()) == "ran"
        assert sink.replies == [] and sink.answers == []
    assert calls == [COORDINATOR, COORDINATOR]

    message = Recorder()
    assert await handler(_update(OTHER, button=False, sink=message), _context()) is None
    assert message.replies == [texts.NOT_COORDINATOR] and message.answers == []

    press = Recorder()
    assert await handler(_update(OTHER, button=True, sink=press), _context()) is None
    assert press.answers == [(texts.NOT_COORDINATOR, True)] and press.replies == []

    nobody = Recorder()
    assert await handler(_update(None, button=False, sink=nobody), _context()) is None
    assert nobody.replies == [texts.NOT_COORDINATOR]
    assert calls == [COORDINATOR, COORDINATOR], "a refused update must not reach the handler"
    assert handler.__name__ == "handler"
