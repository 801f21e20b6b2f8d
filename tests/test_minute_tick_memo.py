"""The minute tick remembers the state between runs (`bot.delivery.current_state`): a tick with
nothing to do reads one fingerprint statement and neither the state nor the audit trail, and
escalations and reporting-cycle nudges still go out exactly once when the day or the state
changes, also when the state changes in the middle of a tick."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from bot import delivery
from bot.delivery import escalate_overdue, nudge_silent_units
from bot.demo import COORDINATOR
from db import repo
from jobs.types import Status
from tests.conftest import BotHarness

ESCALATION = "督办提醒"
NUDGE = "进展反馈提醒"


class Spy:
    """Counts the SQL statements of the bot's engine and the calls of the `repo` functions
    the memo is meant to spare (patched on the module, where `bot.delivery` looks them up)."""

    WATCHED = ("state_version", "load_state", "audit_subjects")

    def __init__(self, bot: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
        self.engine = bot.svc.db.engine
        self.statements: list[str] = []
        self.calls: Counter[str] = Counter()
        event.listen(self.engine, "before_cursor_execute", self._on_statement)
        for name in self.WATCHED:
            monkeypatch.setattr(repo, name, self._counting(name, getattr(repo, name)))

    def _on_statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def _counting(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return real(*args, **kwargs)

        return counted

    def reset(self) -> None:
        self.statements.clear()
        self.calls.clear()

    def not_digest(self) -> list[str]:
        """The statements other than the weekly digest's ledger checks (`post_weekly_digest`
        asks every tick for a digest to resume and, in a digest week, whether it was sent)."""
        return [s for s in self.statements if "digestpost" not in s.lower()]

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_statement)


@pytest.fixture
def spy(bot: BotHarness, monkeypatch: pytest.MonkeyPatch) -> Iterator[Spy]:
    counter = Spy(bot, monkeypatch)
    try:
        yield counter
    finally:
        counter.close()


def on(bot: BotHarness, year: int, month: int, day: int) -> None:
    """Move the clock to that day, keeping the time of day (09:30 in Asia/Shanghai)."""
    bot.clock.set(bot.clock.now.replace(year=year, month=month, day=day))


async def tick(bot: BotHarness) -> None:
    await bot.tick()
    await bot.api.wait_idle(quiet=0.05)


def texts_with(bot: BotHarness, marker: str, since: int = 0) -> list[Any]:
    return [m for m in bot.api.sent[since:] if marker in m.plain_text]


def version(bot: BotHarness) -> tuple[Any, ...]:
    with bot.svc.db.session() as s:
        return tuple(repo.state_version(s))


async def assert_idle_tick(bot: BotHarness, spy: Spy) -> None:
    """A tick now sends nothing, reads one fingerprint and neither state nor audit trail."""
    since = len(bot.api.sent)
    spy.reset()
    await bot.tick()
    assert dict(spy.calls) == {"state_version": 1}, spy.statements
    assert len(spy.not_digest()) == 1, spy.statements
    assert "auditevent" in spy.not_digest()[0].lower()  # the fingerprint
    await bot.api.wait_idle(quiet=0.05)
    assert bot.api.sent[since:] == []


async def test_a_tick_with_nothing_to_do_reads_one_fingerprint(bot: BotHarness, spy: Spy) -> None:
    await bot.register(2002, "潼南税务局")
    # Thursday 2026-01-08: escalation is active (nobody is overdue by more than 5 working
    # days yet), and so are the nudges of the cycle from 2025-12-25 (nudge day 2026-01-04)
    on(bot, 2026, 1, 8)
    await tick(bot)  # reminders, the week's digest, a nudge: each changes what is remembered
    assert len(texts_with(bot, NUDGE)) == 1
    await tick(bot)  # reads the state once more (the nudge is an audit event), finds nothing
    await assert_idle_tick(bot, spy)
    bot.clock.advance(timedelta(minutes=1))
    await assert_idle_tick(bot, spy)
    bot.clock.advance(timedelta(hours=3))
    await assert_idle_tick(bot, spy)
    # what the tick remembers is exactly what load_state reads
    with bot.svc.db.session() as s:
        assert bot.svc.reminder_memo.state == repo.load_state(s)
    # called on their own, escalation and nudging read the fingerprint and nothing else
    for job in (escalate_overdue, nudge_silent_units, escalate_overdue):
        spy.reset()
        assert await job(bot.app.bot, bot.svc) == 0
        assert dict(spy.calls) == {"state_version": 1}
        assert len(spy.statements) == 1


async def test_outside_sending_hours_a_tick_prepares_the_next_morning_once(
    bot: BotHarness, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot.register(2002, "潼南税务局")
    on(bot, 2026, 1, 8)  # Thursday
    await tick(bot)  # reminders, the week's digest, a nudge: each changes the state
    await tick(bot)  # reads it once more
    computed: list[date] = []
    real = delivery.reminder_candidates

    def candidates(now: datetime, *args: Any) -> Any:
        computed.append(now.astimezone(bot.svc.policy.zone).date())
        return real(now, *args)

    monkeypatch.setattr(delivery, "reminder_candidates", candidates)
    bot.clock.advance(timedelta(hours=12))  # 21:30 local: quiet hours
    spy.reset()
    await bot.tick()  # prepares Friday: the fingerprint, the candidates, one ledger question
    assert dict(spy.calls) == {"state_version": 1}
    assert computed == [date(2026, 1, 9)]
    assert len(spy.not_digest()) == 2, spy.statements
    for _ in range(2):  # later quiet ticks: the fingerprint only
        bot.clock.advance(timedelta(hours=3))
        spy.reset()
        await bot.tick()
        assert dict(spy.calls) == {"state_version": 1}
        assert len(spy.not_digest()) == 1, spy.statements
    assert computed == [date(2026, 1, 9)]
    # Friday 09:30: the first tick of the day finds its candidates ready and sends what is due
    # exactly as a bot that computes them then (started afresh, nothing remembered)
    bot.clock.set(bot.clock.now.replace(day=9, hour=1, minute=30))
    since = len(bot.api.sent)
    await tick(bot)
    assert computed == [date(2026, 1, 9)]
    prepared = sorted(m.plain_text for m in bot.api.sent[since:] if m.buttons)
    with bot.svc.db.session() as s:
        state = repo.load_state(s)
    fresh = real(bot.clock.now, state, bot.svc.policy, bot.svc.calendar)
    with bot.svc.db.session() as s:
        expected = repo.sent_reminder_keys(s, keys=[c.key for c in fresh])
    assert expected == {c.key for c in fresh}  # every current reminder is in the ledger
    assert len(prepared) == len([c for c in fresh if c.occasion.send_on == date(2026, 1, 9)])


async def test_escalation_goes_out_once_on_the_day_it_is_due_and_after_a_deadline_change(
    bot: BotHarness, spy: Spy
) -> None:
    await bot.register(2002, "潼南税务局")
    # 2026-01-08: 5 working days after 2025-12-31, not yet more than 5
    on(bot, 2026, 1, 8)
    await tick(bot)
    await tick(bot)
    await assert_idle_tick(bot, spy)
    assert texts_with(bot, ESCALATION) == []
    before = version(bot)
    # 2026-01-09: the 6th working day after. Nothing in the database changed overnight (the
    # fingerprint is the same): the new local date alone makes the escalation run again
    on(bot, 2026, 1, 9)
    assert version(bot) == before
    await tick(bot)
    [notice] = texts_with(bot, ESCALATION)
    assert notice.chat_id == COORDINATOR
    assert "共 46 项" in notice.plain_text
    await tick(bot)  # the escalation's audit events changed the state: read again
    await assert_idle_tick(bot, spy)
    bot.clock.advance(timedelta(hours=2))
    await assert_idle_tick(bot, spy)
    # the coordinator moves task 10's deadline earlier: a new case for each of its two lead
    # units (the case is per deadline), escalated once on the next tick
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/deadline 10 2025-12-20")
    await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    await bot.api.wait_idle(quiet=0.05)
    since = len(bot.api.sent)
    await tick(bot)
    [notice] = texts_with(bot, ESCALATION, since)
    assert "共 2 项" in notice.plain_text
    assert "｜潼南税务局｜" in notice.plain_text and "｜区财政局｜" in notice.plain_text
    await tick(bot)
    await tick(bot)
    assert len(texts_with(bot, ESCALATION)) == 2


async def test_a_report_stored_during_the_reminder_fan_out_counts_for_the_escalation(
    bot: BotHarness, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tick's first step reads the fingerprint; sending lets other handlers store
    reports, so the escalation of the same tick must not reuse it."""
    await bot.register(2002, "潼南税务局")
    with bot.svc.db.session() as s:
        unit = repo.get_unit_by_name(s, name="潼南税务局")
        task = repo.get_task(s, number=10)
        assert unit is not None and task is not None
        unit_id, task_id = unit.id or 0, task.id or 0
    real_send = delivery.send
    stored: list[datetime] = []

    async def send_after_a_report(*args: Any, **kwargs: Any) -> delivery.SendResult:
        if not stored:  # the first reminder: meanwhile 潼南税务局 reports task 10 done
            with bot.svc.db.session() as s:
                repo.add_report(
                    s,
                    task_id=task_id,
                    unit_id=unit_id,
                    contact_id=None,
                    reporter_user_id=2002,
                    status=Status.DONE,
                    note="已完成",
                    now=bot.clock.now,
                )
            stored.append(bot.clock.now)
        return await real_send(*args, **kwargs)

    monkeypatch.setattr(delivery, "send", send_after_a_report)
    on(bot, 2026, 1, 9)  # the 6th working day after 2025-12-31: escalation is due
    await tick(bot)
    assert stored, "the tick sent no reminder"
    [notice] = texts_with(bot, ESCALATION)
    assert "共 45 项" in notice.plain_text
    assert "第 10 项" in notice.plain_text and "｜区财政局｜" in notice.plain_text
    assert not [
        line
        for line in notice.plain_text.splitlines()
        if "第 10 项" in line and "潼南税务局" in line
    ]


async def test_nudges_follow_a_contact_refused_in_the_tick_and_back_later_the_same_day(
    bot: BotHarness, spy: Spy
) -> None:
    await bot.register(2001, "区民政局")
    await bot.register(2002, "潼南税务局")
    # Tuesday 2026-01-06: nudges of the cycle from 2025-12-25 are due (nudge day 2026-01-04);
    # 2001 has blocked the bot, which the reminders of this very tick find out
    on(bot, 2026, 1, 6)
    bot.api.block_chat(2001)
    await tick(bot)
    assert sorted(m.chat_id for m in texts_with(bot, NUDGE)) == [2002]
    with bot.svc.db.session() as s:
        contact = repo.get_contact(s, telegram_user_id=2001)
        assert contact is not None and contact.unreachable_reason is not None
    await tick(bot)
    await assert_idle_tick(bot, spy)
    # 2001 unblocks the bot and registers again (which clears the mark), the same day: the
    # state changed, so the nudge it missed goes out, once
    bot.api.unblock_chat(2001)
    await bot.register(2001, "区民政局")
    await tick(bot)
    assert sorted(m.chat_id for m in texts_with(bot, NUDGE)) == [2001, 2002]
    await tick(bot)
    await assert_idle_tick(bot, spy)
    bot.clock.advance(timedelta(days=1))
    await tick(bot)
    await tick(bot)
    assert sorted(m.chat_id for m in texts_with(bot, NUDGE)) == [2001, 2002]


async def test_the_digest_is_built_from_the_remembered_state_as_from_a_fresh_read(
    bot: BotHarness, spy: Spy
) -> None:
    """/digest and the weekly digest take the state the tick remembers (one fingerprint
    statement), add the period's reports, and say exactly what a digest read afresh says,
    also after reports the memo has not seen yet."""
    await bot.register(2002, "潼南税务局")
    on(bot, 2026, 1, 8)
    await tick(bot)
    await tick(bot)
    with bot.svc.db.session() as s:
        task = repo.get_task(s, number=10)
        unit = repo.get_unit_by_name(s, name="潼南税务局")
        assert task is not None and unit is not None
        contact = repo.get_contact(s, telegram_user_id=2002)
        assert contact is not None
        for days, status, note in [
            (-9, Status.IN_PROGRESS, "摸底"),  # before the period: the status before it
            (-2, Status.BLOCKED, "缺经费"),
            (-1, None, "补充说明"),
        ]:
            repo.add_report(
                s,
                task_id=task.id or 0,
                unit_id=unit.id or 0,
                contact_id=contact.id,
                reporter_user_id=2002,
                status=status,
                note=note,
                now=bot.clock.now + timedelta(days=days),
            )
    spy.reset()
    remembered = await delivery.current_digest(bot.svc)
    assert spy.calls["load_state"] == 1  # the reports changed the fingerprint: read again
    fresh = delivery.build_current_digest(bot.svc)
    assert remembered == fresh
    text = "\n".join(remembered)
    assert "第 10 项｜潼南税务局｜推进中 → 遇到困难" in text
    changes = text.split("本期新反馈")[1]
    assert "补充说明" in changes and "摸底" not in changes  # before the period: not a change
    spy.reset()
    assert await delivery.current_digest(bot.svc) == fresh
    assert dict(spy.calls) == {"state_version": 1}  # nothing changed: nothing read again
    assert len(spy.not_digest()) == 2, spy.statements  # the fingerprint and the period


async def test_task_and_unit_views_use_the_remembered_state(bot: BotHarness, spy: Spy) -> None:
    """/task and /unit show the state the tick remembers: no read of the whole state when
    nothing changed (most of a second at 10,000 tasks), and the newest after a report."""
    await bot.register(2002, "潼南税务局")
    await tick(bot)
    spy.reset()
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/task 10")
    view = await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    assert "潼南税务局" in view.plain_text
    bot.api.send_text(COORDINATOR, "/unit 潼南税务局")
    await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since + 1)
    assert spy.calls["load_state"] == 0 and spy.calls["state_version"] == 2
    with bot.svc.db.session() as s:
        task, unit = repo.get_task(s, number=10), repo.get_unit_by_name(s, name="潼南税务局")
        assert task is not None and unit is not None
        repo.add_report(
            s,
            task_id=task.id or 0,
            unit_id=unit.id or 0,
            contact_id=None,
            reporter_user_id=0,
            status=Status.BLOCKED,
            note="缺少场地",
            now=bot.clock.now,
        )
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, "/task 10")
    view = await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    assert "遇到困难" in view.plain_text and spy.calls["load_state"] == 1


@pytest.mark.parametrize("edit", ["swap lead and responsible", "plan title"])
async def test_a_task_file_reload_while_running_reaches_the_remembered_state(
    bot: BotHarness, edit: str
) -> None:
    """`taskbot init` with an edited task file while the bot runs: swapping task 30's lead
    and responsible units (on SQLite the new rows reuse the old ids, so counts, largest id
    and unit sums stay the same) and a new plan title are audited, which the fingerprint
    sees: /task and the digest show the edit. Found by a break-it trial."""
    import dataclasses

    from db.engine import Database
    from db.seed import load_plan, read_task_file

    await tick(bot)
    plan = read_task_file()
    if edit == "plan title":
        plan = dataclasses.replace(plan, title="更正后的规划名称")
    else:
        last = plan.tasks[-1]
        assert last.number == 30 and last.lead_units == ("区发展改革委",)
        swapped = dataclasses.replace(
            last,
            lead_units=("区残联",),
            responsible_units=("区发展改革委", "区民政局", "区人力社保局", "各镇街"),
        )
        plan = dataclasses.replace(plan, tasks=(*plan.tasks[:-1], swapped))
    other = Database(bot.settings.database.url)  # another process's connection
    try:
        with other.session() as s:
            load_plan(s, plan, now=bot.clock.now)
    finally:
        other.dispose()
    posted = await delivery.current_digest(bot.svc)
    assert posted == delivery.build_current_digest(bot.svc)
    if edit == "plan title":
        assert "更正后的规划名称" in "\n".join(posted)
        action = "plan.title"
    else:
        since = len(bot.api.sent)
        bot.api.send_text(COORDINATOR, "/task 30")
        view = await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
        assert "牵头单位：区残联" in view.plain_text
        action = "task.units"
    with bot.svc.db.session() as s:
        [audited] = [a for a in repo.audit_subjects(s, action=action)]
        assert audited == ("plan" if edit == "plan title" else "task:30")


async def test_escalations_wait_while_no_coordinator_is_configured(bot: BotHarness) -> None:
    """Without coordinators the escalation records nothing (it used to record the 46 cases
    and send them to nobody, so a coordinator configured later never heard of them)."""
    await bot.register(2002, "潼南税务局")
    on(bot, 2026, 1, 9)  # the 6th working day after 2025-12-31: the cases are due
    await bot.restart(schedule={"tick_seconds": 3600}, telegram={"coordinators": []})
    assert await escalate_overdue(bot.app.bot, bot.svc) == 0
    with bot.svc.db.session() as s:
        assert repo.audit_subjects(s, action="task.escalated") == set()
    await bot.restart(schedule={"tick_seconds": 3600})  # the coordinator is configured
    await tick(bot)
    [notice] = texts_with(bot, ESCALATION)
    assert notice.chat_id == COORDINATOR and "共 46 项" in notice.plain_text
