"""Crash and restart: the real bot in a child process (tests/bot_process.py, run_polling as in
production), killed with SIGKILL at awkward moments and started again on the same database.

The Bot API stand-in runs in the pytest process and outlives the children, like Telegram: a
call it received is processed after an injected delay even when the caller died meanwhile, and
updates not confirmed by a getUpdates offset are delivered again to the next poller.

What must hold (the delivery ledger's at-most-once guarantee, bot/delivery.py): no stored
report is lost, nothing is sent twice, a send that was in flight at the kill is recorded
UNCERTAIN and never repeated, what fell due while the bot was down goes out once; an
interrupted conversation tells the user what to do; a second instance on the same database
refuses to start.

Cases: a. kill during a reminder fan-out (one send in flight); b. kill in the middle of a
status conversation; the receipt of a stored report in flight at the kill; c. kill while the
weekly digest is posted; d. two instances on one database; e. reminders that fell due while
the bot was down. Each takes a few seconds (children start in about half a second).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlmodel import select

from bot import texts
from bot.config import Settings
from db import repo
from db.engine import Database
from db.lock import AlreadyRunning, InstanceLock
from db.models import Contact, Delivery, StatusReport, Task
from db.seed import load_plan, read_task_file
from jobs.types import DeliveryKind, DeliveryOutcome
from standin import ApiCall, BotApiStandIn, SentMessage
from standin.harness import COORDINATOR, GROUP
from tests.conftest import FIRST_START, reminded_tasks

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "bot_process.py"

# Wednesday 2025-12-17 09:30 in Asia/Shanghai: 14 days before the tasks' 2025-12-31 deadline
T0 = datetime(2025, 12, 17, 1, 30, tzinfo=UTC)
# Monday 2025-12-22 09:05 in Asia/Shanghai: the weekly digest (Monday 09:00) is due
DIGEST_MONDAY = datetime(2025, 12, 22, 1, 5, tzinfo=UTC)

CIVIL_AFFAIRS = "区民政局"  # lead unit of tasks 2, 5, 8 and 25
CIVIL_AFFAIRS_TASKS = (2, 5, 8, 25)
FAN_OUT_CONTACTS = (4001, 4002, 4003, 4004, 4005)
CONTACT = 2001  # 李明, a user the `standin` fixture knows
TICK = 0.2  # seconds between follow-up ticks in the child
STARTUP_TIMEOUT = 30.0  # a child imports PTB, SQLAlchemy, runs the migrations: slow machines
T = TypeVar("T")


def task_number(text: str) -> int | None:
    """The task number of a reminder text ("第N项"), None for other texts."""
    match = re.search(r"第(\d+)项", text)
    return int(match.group(1)) if match else None


def is_reminder(m: SentMessage) -> bool:
    return m.method == "sendMessage" and "完成时限" in m.plain_text and bool(m.buttons)


def is_digest_head(m: SentMessage) -> bool:
    return m.method == "sendMessage" and "督办汇总" in m.plain_text


class BotProcess:
    """One child process running tests/bot_process.py; its log (stderr) goes to a file."""

    def __init__(self, name: str, config: Path, log: Path) -> None:
        self.name = name
        self.config = config
        self.log_path = log
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with log.open("wb") as log_file:  # the child keeps its own descriptor
            self.popen = subprocess.Popen(
                [sys.executable, str(SCRIPT), str(config)],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def log(self) -> str:
        """What the child wrote so far (its log goes to stderr)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """SIGKILL the child (if still running) and reap it."""
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def describe(self, lines: int = 80) -> str:
        tail = "\n".join(self.log().splitlines()[-lines:])
        return f"--- {self.name} (pid {self.pid}, exit {self.returncode}) log:\n{tail}"


def ledger(crash: CrashHarness, kind: DeliveryKind) -> list[Delivery]:
    """The send ledger's rows of one kind, oldest first."""
    return [r for r in crash.rows(Delivery) if r.kind == kind]


class CrashHarness:
    """The stand-in, the database under test and the bot processes of one test."""

    def __init__(self, api: BotApiStandIn, url: str, tmp_path: Path) -> None:
        self.api = api
        self.url = url
        self.tmp_path = tmp_path
        self.processes: list[BotProcess] = []
        self._db: Database | None = None

    # -- database ----------------------------------------------------------------------------

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.url)
        return self._db

    def seed(self, contacts: dict[int, str]) -> None:
        """Create the schema, load the 30 tasks, record a first start before T0 (so that
        the week's digest is due) and register `contacts` (user id -> unit)."""
        self.db.upgrade()
        with self.db.session() as s:
            load_plan(s, read_task_file(), now=T0)
            repo.record_first_start(s, now=FIRST_START)
        with self.db.session() as s:
            for user_id, unit_name in contacts.items():
                unit = repo.get_unit_by_name(s, name=unit_name)
                assert unit is not None, unit_name
                s.add(
                    Contact(
                        telegram_user_id=user_id,
                        chat_id=user_id,
                        unit_id=unit.id or 0,
                        display_name=f"联络员{user_id}",
                        created_at=T0,
                    )
                )

    def rows(self, model: type[T]) -> list[T]:
        with self.db.session() as s:
            return list(s.exec(select(model).order_by(model.id)).all())  # type: ignore[attr-defined]

    def task_ids(self) -> dict[int, int]:
        """Task id -> task number."""
        return {t.id: t.number for t in self.rows(Task)}  # type: ignore[misc]

    async def wait_lock_free(self, timeout: float = 15.0) -> None:
        """Wait until no process holds the instance lock (PostgreSQL notices a dead client
        a moment after it died; a flock is released at once)."""
        deadline = time.monotonic() + timeout
        while True:
            lock = InstanceLock(self.db.engine)
            try:
                lock.acquire()
            except AlreadyRunning as exc:
                if time.monotonic() > deadline:
                    raise AssertionError(self.context(f"lock never released: {exc}")) from exc
                await asyncio.sleep(0.05)
                continue
            lock.release()
            return

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None

    # -- processes ---------------------------------------------------------------------------

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Raw settings pointing at the stand-in and the database; sections merged."""
        raw: dict[str, Any] = {
            "telegram": {
                "token": self.api.token,
                "base_url": self.api.base_url,
                "base_file_url": self.api.base_file_url,
                "coordinators": [COORDINATOR],
                "digest_chat_id": None,
                "chat_messages_per_second": 50.0,
                "group_messages_per_minute": 600.0,
            },
            "database": {"url": self.url},
            "schedule": {"tick_seconds": TICK},
        }
        for section, values in overrides.items():
            raw.setdefault(section, {}).update(values)
        Settings.model_validate(raw)  # fail here, not in the child
        return raw

    def spawn(self, name: str, *, clock: datetime = T0, **overrides: Any) -> BotProcess:
        """Start a child running the bot at the fixed instant `clock`."""
        config = self.tmp_path / f"{name}.json"
        config.write_text(
            json.dumps(
                {"clock": clock.isoformat(), "settings": self.settings(**overrides)},
                ensure_ascii=False,
                indent=2,
            ),
            encoding="utf-8",
        )
        process = BotProcess(name, config, self.tmp_path / f"{name}.log")
        self.processes.append(process)
        return process

    async def start(self, name: str, *, clock: datetime = T0, **overrides: Any) -> BotProcess:
        """Start a child and wait until it polls (post_init done: lock, ledger, tick)."""
        since = len(self.api.calls)
        process = self.spawn(name, clock=clock, **overrides)
        await self.until(
            lambda: any(c.method == "getUpdates" for c in self.api.calls[since:]),
            f"{name} to start polling",
            timeout=STARTUP_TIMEOUT,
            alive=[process],
        )
        return process

    async def restart(
        self, old: BotProcess, name: str, *, clock: datetime = T0, **overrides: Any
    ) -> BotProcess:
        """After a SIGKILL of `old`: start `name` on the same database."""
        assert old.returncode is not None, "kill the old process first"
        await self.wait_lock_free()
        return await self.start(name, clock=clock, **overrides)

    def sigkill(self, process: BotProcess) -> None:
        process.kill()
        assert process.returncode == -signal.SIGKILL, process.describe()

    def kill_all(self) -> None:
        for process in self.processes:
            try:
                process.kill()
            except Exception:  # never leave a child behind, whatever happened
                pass

    # -- waiting and reporting ---------------------------------------------------------------

    def context(self, headline: str) -> str:
        """What to show when an assertion fails: the stand-in's view and every child's log."""
        parts = [headline, self.api.dump("stand-in:")]
        parts.extend(p.describe() for p in self.processes)
        return "\n".join(parts)

    async def until(
        self,
        condition: Callable[[], T | None],
        what: str,
        *,
        timeout: float = 15.0,
        alive: list[BotProcess] | None = None,
    ) -> T:
        """Poll `condition` until it returns something truthy; fail with the logs on timeout
        or as soon as one of the `alive` processes exits."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            for process in alive or ():
                if process.returncode is not None:
                    raise AssertionError(
                        self.context(f"{process.name} exited while waiting for {what}")
                    )
            if time.monotonic() > deadline:
                raise AssertionError(self.context(f"timed out after {timeout:g}s: {what}"))
            await asyncio.sleep(0.02)

    async def settle(self, *, quiet: float = 1.0) -> None:
        """Wait until the bot has been quiet for `quiet` seconds (several ticks): long enough
        for a duplicate send, if there were one, to show up."""
        await self.api.wait_idle(quiet=quiet, timeout=30)

    def send_calls(self, since: int = 0) -> list[ApiCall]:
        return [c for c in self.api.calls[since:] if c.method == "sendMessage"]

    def nth_send(self, index: int) -> ApiCall | None:
        """The sendMessage call number `index` (0-based), once the stand-in has read all of
        it (its parameters are parsed just before an injected delay starts), else None."""
        calls = self.send_calls()
        if len(calls) > index and calls[index].params:
            return calls[index]
        return None

    def reminders(self) -> list[SentMessage]:
        return [m for m in self.api.sent if is_reminder(m)]


@pytest.fixture
async def crash(
    standin: BotApiStandIn, database_url: str, tmp_path: Path
) -> AsyncIterator[CrashHarness]:
    """The harness; every child it started is SIGKILLed at the end, whatever happened."""
    harness = CrashHarness(standin, database_url, tmp_path)
    try:
        yield harness
    finally:
        harness.kill_all()
        harness.close()


def tasks_reminded(crash: CrashHarness) -> set[int]:
    """The tasks the reminders sent so far carry."""
    return {n for m in crash.reminders() for n in reminded_tasks(m)}


async def status_choice(crash: CrashHarness, number: int) -> SentMessage:
    """Press task `number`'s button on the contact's message of the day; return the status
    choice it opens (推进中 / 已完成 / 遇到困难 / 申请延期)."""
    api = crash.api
    [daily] = [m for m in crash.reminders() if m.chat_id == CONTACT]
    since = len(api.sent)
    api.click(CONTACT, daily, next(b for b, _ in daily.buttons if b.startswith(f"第{number}项 ")))
    return await api.wait_for(
        lambda m: m.chat_id == CONTACT and "请选择当前进展" in m.plain_text, since=since
    )


def pairs_of(messages: list[SentMessage]) -> Counter[tuple[int, int | None]]:
    """How many reminders each (chat, task) received (a message of the day carries several)."""
    return Counter((m.chat_id, n) for m in messages for n in reminded_tasks(m))


# --------------------------------------------------------------------------------------------
# a. SIGKILL during a reminder fan-out
# --------------------------------------------------------------------------------------------

IN_FLIGHT_INDEX = 2  # the 3rd of the 5 messages of the day is in flight when the bot is killed
IN_FLIGHT_DELAY = 2.0
ITEMS = len(CIVIL_AFFAIRS_TASKS)  # the reminders a message carries: one ledger row each


async def test_sigkill_during_reminder_fan_out_sends_each_reminder_at_most_once(
    crash: CrashHarness,
) -> None:
    api = crash.api
    for user_id in FAN_OUT_CONTACTS:
        api.user(user_id, f"联络员{user_id}")
    crash.seed(dict.fromkeys(FAN_OUT_CONTACTS, CIVIL_AFFAIRS))
    expected = {(u, n) for u in FAN_OUT_CONTACTS for n in CIVIL_AFFAIRS_TASKS}
    # the first sends are answered at once, the 3rd only after IN_FLIGHT_DELAY seconds
    api.delay_next("sendMessage", 0.0, count=IN_FLIGHT_INDEX)
    api.delay_next("sendMessage", IN_FLIGHT_DELAY, count=1)

    first = await crash.start("first")
    in_flight = await crash.until(
        lambda: crash.nth_send(IN_FLIGHT_INDEX),
        "the delayed message send to reach the stand-in",
        alive=[first],
    )
    # no await between this check and the kill: the stand-in (same event loop) cannot answer
    assert in_flight.status == 0, crash.context("the delayed send was answered already")
    crash.sigkill(first)
    chat = int(in_flight.chat_id)

    # at the kill: the messages before are settled (their day's row and each reminder's row),
    # the one in flight is still claimed, all its rows together
    rows = ledger(crash, DeliveryKind.REMINDER)
    numbers = crash.task_ids()
    outcomes = Counter(r.outcome for r in rows)
    assert outcomes == {
        DeliveryOutcome.SENT: IN_FLIGHT_INDEX * (ITEMS + 1),
        DeliveryOutcome.PENDING: ITEMS + 1,
    }, crash.context(f"ledger at the kill: {outcomes}")
    pending = [r for r in rows if r.outcome == DeliveryOutcome.PENDING]
    assert {int(r.destination) for r in pending} == {chat}
    assert sorted(numbers[r.task_id] for r in pending if r.task_id) == list(CIVIL_AFFAIRS_TASKS)

    # like Telegram, the stand-in still delivers the send the dead process was waiting for
    await crash.until(lambda: in_flight.status == 200, "the in-flight send to be delivered")

    second = await crash.restart(first, "second")
    await crash.until(
        lambda: (
            len(crash.reminders()) >= len(FAN_OUT_CONTACTS)
            and all(
                r.outcome != DeliveryOutcome.PENDING for r in ledger(crash, DeliveryKind.REMINDER)
            )
        ),
        "the restarted bot to finish the fan-out",
        alive=[second],
    )
    await crash.settle()
    assert second.returncode is None, second.describe()

    # one message per contact, each reminder in it exactly once
    assert Counter(m.chat_id for m in crash.reminders()) == dict.fromkeys(FAN_OUT_CONTACTS, 1)
    delivered = pairs_of(crash.reminders())
    twice = {p: n for p, n in delivered.items() if n > 1}
    assert not twice, crash.context(f"reminders delivered more than once: {twice}")
    assert set(delivered) == expected, crash.context(f"missing: {expected - set(delivered)}")
    assert sum(delivered.values()) == len(expected) == 20

    rows = ledger(crash, DeliveryKind.REMINDER)
    numbers = crash.task_ids()
    items = [r for r in rows if r.task_id is not None]
    by_pair = Counter((int(r.destination), numbers[r.task_id or 0]) for r in items)
    assert set(by_pair) == expected and set(by_pair.values()) == {1}, by_pair
    uncertain = [r for r in rows if r.outcome == DeliveryOutcome.UNCERTAIN]
    assert {int(r.destination) for r in uncertain} == {chat} and len(uncertain) == ITEMS + 1, (
        crash.context("the in-flight message must be the only uncertain one")
    )
    assert all(r.message_id is None for r in uncertain)
    sent = [r for r in rows if r.outcome == DeliveryOutcome.SENT]
    assert len(sent) == (len(FAN_OUT_CONTACTS) - 1) * (ITEMS + 1), Counter(r.outcome for r in rows)
    assert all(r.message_id is not None for r in sent)
    # the stand-in saw exactly one send per contact: nothing was even attempted twice
    attempts = Counter(
        int(c.chat_id) for c in crash.send_calls() if "完成时限" in str(c.params.get("text", ""))
    )
    assert set(attempts.values()) == {1} and set(attempts) == set(FAN_OUT_CONTACTS), attempts
    assert "uncertain" in second.log(), second.describe()  # the operator is told

    # the contact answers the message whose send was uncertain: asked which of its tasks,
    # the note is stored on the one chosen
    [message] = [m for m in crash.reminders() if m.chat_id == chat]
    since = len(api.sent)
    api.send_text(chat, "已收到，正在落实。", reply_to_message_id=message.message_id)
    ask = await api.wait_for(lambda m: m.chat_id == chat, since=since)
    offered = [label.split(" ")[0] for label, _ in ask.buttons]
    assert offered == [*(f"第{n}项" for n in CIVIL_AFFAIRS_TASKS), "不用保存"], crash.context(
        f"reply to the uncertain message answered {ask.plain_text!r}"
    )
    api.click(chat, ask, ask.buttons[1][0])
    saved = await api.wait_for(
        lambda m: m.chat_id == chat and "已将您的留言记录" in m.plain_text, since=since
    )
    assert f"第{CIVIL_AFFAIRS_TASKS[1]}项" in saved.plain_text
    [note] = crash.rows(StatusReport)
    assert (numbers[note.task_id], note.reporter_user_id, note.source) == (
        CIVIL_AFFAIRS_TASKS[1],
        chat,
        "reply",
    )


# --------------------------------------------------------------------------------------------
# b. SIGKILL in the middle of a status conversation
# --------------------------------------------------------------------------------------------


async def report_via_reminder_until_confirmation(
    crash: CrashHarness, reminder: SentMessage, status: str, note: str
) -> SentMessage:
    """Press `status` on a reminder, send `note`, skip the evidence; return the confirmation."""
    api = crash.api
    since = len(api.sent)
    api.click(CONTACT, reminder, status)
    await api.wait_for(
        lambda m: m.chat_id == CONTACT and "请用一两句话" in m.plain_text, since=since
    )
    since = len(api.sent)
    api.send_text(CONTACT, note)
    evidence = await api.wait_for(
        lambda m: m.chat_id == CONTACT and "佐证材料" in m.plain_text, since=since
    )
    since = len(api.sent)
    api.click(CONTACT, evidence, texts.BUTTON_SKIP)
    return await api.wait_for(
        lambda m: m.chat_id == CONTACT and "请确认" in m.plain_text and bool(m.buttons),
        since=since,
    )


async def test_sigkill_mid_conversation_then_user_is_told_what_to_do(
    crash: CrashHarness,
) -> None:
    api = crash.api
    crash.seed({CONTACT: CIVIL_AFFAIRS})
    first = await crash.start("first")
    await crash.until(
        lambda: tasks_reminded(crash) >= set(CIVIL_AFFAIRS_TASKS),
        "the four reminders to the contact (one message)",
        alive=[first],
    )
    await api.wait_idle()

    # a report completed before the kill
    kept_note = "低保提标方案已报区政府常务会审议。"
    confirm = await report_via_reminder_until_confirmation(
        crash, await status_choice(crash, 5), "推进中", kept_note
    )
    since = len(api.sent)
    api.click(CONTACT, confirm, texts.BUTTON_CONFIRM)
    await api.wait_for(lambda m: m.chat_id == CONTACT and "已记录" in m.plain_text, since=since)

    # a second one, killed at its confirmation step
    lost_note = "这条说明还没有确认提交，进程就被杀掉了。"
    old_confirm = await report_via_reminder_until_confirmation(
        crash, await status_choice(crash, 2), "遇到困难", lost_note
    )
    await crash.until(lambda: api.pending_updates == 0, "the bot to confirm every update")
    await api.wait_idle()
    crash.sigkill(first)

    second = await crash.restart(first, "second")
    await api.wait_idle()

    # the old 确认提交 button: answered as expired, nothing stored
    since = len(api.sent)
    query_id = api.click(CONTACT, old_confirm, texts.BUTTON_CONFIRM)
    await crash.until(
        lambda: query_id in api.answered_callbacks, "the old button to be answered", alive=[second]
    )
    answer = str(api.answered_callbacks[query_id].get("text") or "")
    assert "失效" in answer, crash.context(f"old confirm button answered {answer!r}")
    await api.wait_idle()
    assert not [m for m in api.sent[since:] if "已记录" in m.plain_text], crash.context(
        "the interrupted draft was stored by the old button"
    )

    # a text: nothing in the restarted process knows of the lost draft, so the text is
    # offered to be kept as a note on a task, and the answer points to /report
    since = len(api.sent)
    api.send_text(CONTACT, "请问我刚才的反馈提交了吗？")
    explained = await api.wait_for(lambda m: m.chat_id == CONTACT, since=since)
    assert explained.plain_text.startswith("要把这段话记为"), explained.plain_text
    assert "/report" in explained.plain_text and explained.buttons

    # /cancel answers
    since = len(api.sent)
    api.send_text(CONTACT, "/cancel")
    cancelled = await api.wait_for(lambda m: m.chat_id == CONTACT, since=since)
    assert cancelled.plain_text in (texts.NOTHING_TO_CANCEL, texts.CANCELLED)

    # /report lists the open tasks and works to the end
    since = len(api.sent)
    api.send_text(CONTACT, "/report")
    listing = await api.wait_for(lambda m: m.chat_id == CONTACT and bool(m.buttons), since=since)
    assert "请选择要反馈的任务" in listing.plain_text
    listed = {task_number(label) for label in listing.labels}
    assert set(CIVIL_AFFAIRS_TASKS) <= listed, listing.labels  # at least the tasks it leads
    since = len(api.sent)
    api.click(CONTACT, listing, next(b for b in listing.labels if task_number(b) == 2))
    status_card = await api.wait_for(
        lambda m: m.chat_id == CONTACT and "请选择当前进展" in m.plain_text, since=since
    )
    new_note = "重启后重新填写：资金缺口已上报区财政局协调。"
    confirm = await report_via_reminder_until_confirmation(crash, status_card, "遇到困难", new_note)
    since = len(api.sent)
    api.click(CONTACT, confirm, texts.BUTTON_CONFIRM)
    await api.wait_for(lambda m: m.chat_id == CONTACT and "已记录" in m.plain_text, since=since)
    await crash.settle(quiet=0.5)

    reports = crash.rows(StatusReport)
    numbers = crash.task_ids()
    assert [(numbers[r.task_id], r.note) for r in reports] == [
        (5, kept_note),
        (2, new_note),
    ], crash.context(f"stored reports: {[(r.task_id, r.status, r.note) for r in reports]}")
    assert second.returncode is None, second.describe()


async def test_sigkill_while_the_receipt_is_sent_keeps_the_report_once(
    crash: CrashHarness,
) -> None:
    api = crash.api
    crash.seed({CONTACT: CIVIL_AFFAIRS})
    first = await crash.start("first")
    await crash.until(
        lambda: 8 in tasks_reminded(crash),
        "the reminder of task 8",
        alive=[first],
    )
    await api.wait_idle()
    reminder = await status_choice(crash, 8)
    note = "应急预案中已增加残疾人疏散保护专章。"
    confirm = await report_via_reminder_until_confirmation(crash, reminder, "已完成", note)

    # the report is committed before the receipt goes out: kill while the receipt is in flight
    api.delay_next("editMessageText", IN_FLIGHT_DELAY, count=1)
    since = len(api.calls)
    query_id = api.click(CONTACT, confirm, texts.BUTTON_CONFIRM)
    receipt = await crash.until(
        lambda: next(
            (c for c in api.calls[since:] if c.method == "editMessageText" and c.params), None
        ),
        "the receipt to reach the stand-in",
        alive=[first],
    )
    assert receipt.status == 0, crash.context("the receipt was answered already")
    crash.sigkill(first)
    assert query_id in api.answered_callbacks  # the press was answered before the receipt
    [stored] = crash.rows(StatusReport)
    assert stored.note == note, stored

    second = await crash.restart(first, "second")
    await crash.until(lambda: receipt.status == 200, "the in-flight receipt to be delivered")
    assert "已记录" in (api.message(CONTACT, confirm.message_id) or {}).get("text", "")

    # the user presses 确认提交 once more (say, the receipt never showed on their phone)
    again = api.press_button(CONTACT, confirm.message_id, confirm.data_for(texts.BUTTON_CONFIRM))
    await crash.until(lambda: again in api.answered_callbacks, "the second press to be answered")
    assert "失效" in str(api.answered_callbacks[again].get("text") or "")
    await crash.settle(quiet=0.5)
    assert [r.note for r in crash.rows(StatusReport)] == [note], crash.context("stored twice?")
    assert second.returncode is None, second.describe()


# --------------------------------------------------------------------------------------------
# c. SIGKILL while the weekly digest is being posted
# --------------------------------------------------------------------------------------------


async def test_sigkill_while_the_weekly_digest_is_posted_does_not_post_it_twice(
    crash: CrashHarness,
) -> None:
    api = crash.api
    crash.seed({})  # no contacts: the only sends are the digest's parts
    api.delay_next("sendMessage", IN_FLIGHT_DELAY, count=1)
    group: dict[str, Any] = {"telegram": {"digest_chat_id": GROUP}}

    first = await crash.start("first", clock=DIGEST_MONDAY, **group)
    in_flight = await crash.until(
        lambda: crash.nth_send(0), "the digest's first part to reach the stand-in", alive=[first]
    )
    # no await between this check and the kill: the stand-in (same event loop) cannot answer
    assert in_flight.chat_id == GROUP and in_flight.status == 0, crash.context(
        "the first send should be the digest's first part, still in flight"
    )
    crash.sigkill(first)
    [post] = ledger(crash, DeliveryKind.DIGEST)
    assert post.outcome == DeliveryOutcome.PENDING, post
    await crash.until(lambda: in_flight.status == 200, "the in-flight part to be delivered")

    second = await crash.restart(first, "second", clock=DIGEST_MONDAY, **group)
    await crash.until(
        lambda: ledger(crash, DeliveryKind.DIGEST)[0].outcome != DeliveryOutcome.PENDING,
        "the restarted bot to settle the interrupted digest",
        alive=[second],
    )
    await crash.settle()
    assert second.returncode is None, second.describe()

    [post] = ledger(crash, DeliveryKind.DIGEST)
    assert (int(post.destination), post.outcome) == (GROUP, DeliveryOutcome.UNCERTAIN), post
    in_group = [m for m in api.messages_to(GROUP) if m.method == "sendMessage"]
    heads = [m for m in in_group if is_digest_head(m)]
    assert len(heads) == 1, crash.context(f"{len(heads)} copies of the digest in the group")
    copies = Counter(m.plain_text for m in in_group)
    assert set(copies.values()) == {1}, crash.context("a digest part was posted twice")
    assert "uncertain" in second.log(), second.describe()  # the operator is told


# --------------------------------------------------------------------------------------------
# d. two instances on one database
# --------------------------------------------------------------------------------------------


async def test_second_instance_on_the_same_database_refuses_to_start(
    crash: CrashHarness,
) -> None:
    api = crash.api
    crash.seed({CONTACT: CIVIL_AFFAIRS})
    group: dict[str, Any] = {"telegram": {"digest_chat_id": GROUP}}  # this week's digest is due too
    first = await crash.start("first", **group)
    await crash.until(
        lambda: (
            tasks_reminded(crash) >= set(CIVIL_AFFAIRS_TASKS)
            and any(is_digest_head(m) for m in api.sent)
        ),
        "the first instance's reminders and digest",
        alive=[first],
    )

    polls_before = len([c for c in api.calls if c.method == "getUpdates"])
    second = crash.spawn("second", **group)
    started = time.monotonic()
    await crash.until(
        lambda: second.returncode is not None,
        "the second instance to give up",
        timeout=STARTUP_TIMEOUT,
        alive=[first],
    )
    took = time.monotonic() - started
    log = second.log()
    assert second.returncode != 0, second.describe()
    assert "another taskbot instance is running" in log, second.describe()
    assert "cannot start" in log, second.describe()
    assert "Traceback" not in log, second.describe()
    assert took < STARTUP_TIMEOUT, took

    # the first keeps working, alone: one answer to /whoami, no poll was ever contested
    since = len(api.sent)
    api.send_text(COORDINATOR, "/whoami")
    await api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since, timeout=10)
    await crash.settle()
    answers = [m for m in api.sent[since:] if m.chat_id == COORDINATOR]
    assert len(answers) == 1 and "协调员" in answers[0].plain_text, crash.context("whoami")
    assert first.returncode is None, first.describe()
    conflicts = [c for c in api.calls if c.method == "getUpdates" and c.status == 409]
    assert not conflicts, crash.context("a second poller contested getUpdates")
    assert len([c for c in api.calls if c.method == "getUpdates"]) > polls_before

    # nothing was sent twice
    assert set(pairs_of(crash.reminders()).values()) == {1}, pairs_of(crash.reminders())
    assert len(crash.reminders()) == 1  # one message for the four tasks
    assert len([m for m in api.sent if is_digest_head(m)]) == 1
    assert {r.outcome for r in ledger(crash, DeliveryKind.REMINDER)} == {DeliveryOutcome.SENT}


# --------------------------------------------------------------------------------------------
# e. reminders that fell due while the bot was down go out once
# --------------------------------------------------------------------------------------------

BEFORE_REMINDER_HOUR = datetime(2025, 12, 17, 0, 30, tzinfo=UTC)  # Wednesday 08:30 local
NEXT_DAY = datetime(2025, 12, 18, 2, 0, tzinfo=UTC)  # Thursday 10:00 local


async def test_reminders_missed_while_down_go_out_once_after_restarts(
    crash: CrashHarness,
) -> None:
    crash.seed({CONTACT: CIVIL_AFFAIRS})
    first = await crash.start("first", clock=BEFORE_REMINDER_HOUR)
    await crash.settle(quiet=0.6)
    assert crash.reminders() == [], crash.context("nothing is due before the reminder hour")
    crash.sigkill(first)

    # down over the 09:00 reminder time of the 14-days-before occasion; back the next day
    second = await crash.restart(first, "second", clock=NEXT_DAY)
    await crash.until(
        lambda: tasks_reminded(crash) >= set(CIVIL_AFFAIRS_TASKS),
        "the missed reminders",
        alive=[second],
    )
    await crash.settle(quiet=0.6)
    crash.sigkill(second)

    third = await crash.restart(second, "third", clock=NEXT_DAY)
    await crash.settle()
    assert third.returncode is None, third.describe()
    delivered = pairs_of(crash.reminders())
    assert delivered == Counter({(CONTACT, n): 1 for n in CIVIL_AFFAIRS_TASKS}), crash.context(
        f"reminders: {delivered}"
    )
    rows = ledger(crash, DeliveryKind.REMINDER)
    assert len(rows) == len(CIVIL_AFFAIRS_TASKS) + 1  # and the row of the message of the day
    assert {r.outcome for r in rows} == {DeliveryOutcome.SENT}


# --------------------------------------------------------------------------------------------
# f. SIGTERM during a fan-out
# --------------------------------------------------------------------------------------------

SLOW_SEND = 2.0  # seconds the stand-in takes to answer each message: a fan-out of 10 s


async def test_sigterm_during_a_fan_out_stops_soon_and_the_rest_goes_out_after_the_restart(
    crash: CrashHarness,
) -> None:
    api = crash.api
    for user_id in FAN_OUT_CONTACTS:
        api.user(user_id, f"联络员{user_id}")
    crash.seed(dict.fromkeys(FAN_OUT_CONTACTS, CIVIL_AFFAIRS))
    expected = {(u, n) for u in FAN_OUT_CONTACTS for n in CIVIL_AFFAIRS_TASKS}
    api.delay_next("sendMessage", SLOW_SEND, count=len(FAN_OUT_CONTACTS))

    first = await crash.start("first")
    await crash.until(lambda: len(crash.reminders()) >= 2, "a few messages", alive=[first])
    os.kill(first.pid, signal.SIGTERM)
    stopped = time.monotonic()
    await crash.until(
        lambda: first.returncode is not None, "the bot to stop after SIGTERM", timeout=15
    )
    took = time.monotonic() - stopped
    assert took < 5, crash.context(f"SIGTERM took {took:.1f} s")
    assert first.returncode == 0, first.describe()

    # what went out is settled; nothing is claimed that was not sent; the rest is untouched
    rows = ledger(crash, DeliveryKind.REMINDER)
    sent_before = len(crash.reminders())
    assert 2 <= sent_before < len(FAN_OUT_CONTACTS), crash.context("not interrupted")
    assert {r.outcome for r in rows} == {DeliveryOutcome.SENT}, Counter(r.outcome for r in rows)
    assert len(rows) == sent_before * (ITEMS + 1)
    assert "left unclaimed" in first.log(), first.describe()

    second = await crash.restart(first, "second")
    await crash.until(
        lambda: len(crash.reminders()) >= len(FAN_OUT_CONTACTS),
        "the rest of the fan-out after the restart",
        alive=[second],
        timeout=30,
    )
    await crash.settle()
    delivered = pairs_of(crash.reminders())
    assert set(delivered) == expected and set(delivered.values()) == {1}, delivered
    rows = ledger(crash, DeliveryKind.REMINDER)
    assert len(rows) == len(expected) + len(FAN_OUT_CONTACTS)  # items and messages of the day
    assert {r.outcome for r in rows} == {DeliveryOutcome.SENT}, Counter(r.outcome for r in rows)
    assert "uncertain" not in second.log(), second.describe()
