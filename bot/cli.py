"""The `taskbot` command line: run, init, tasks, digest, export, backup, restore,
prune-evidence, check-config, demo, plan import.

`--config FILE` and `--log-level LEVEL` may come before or after the subcommand.
Exit codes: 0 success, 1 a problem the message explains (bad config, bad task file, Bot API
unreachable, token refused), 2 usage, 141 stdout closed early (`taskbot tasks | head`), as
for other Unix tools. Output for operators is English; the Chinese chat texts live in
`bot/texts.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import logging
import os
import re
import shutil
import sys
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from bot.config import (
    ConfigError,
    Settings,
    TelegramSettings,
    evidence_dir,
    load_settings,
    review_config,
    sqlite_file,
)
from bot.redact import RedactingFilter, redact
from db.files import EvidenceStore, archive, archive_path, restore_archive
from db.lock import AlreadyRunning
from db.seed import TaskFileError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlmodel import Session

    from bot.context import Services
    from db.engine import Database
    from jobs.plans import PlanView

log = logging.getLogger("taskbot")
DEFAULT_CONFIG = Path("config.toml")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TELEGRAM_BASE_URL = str(TelegramSettings.model_fields["base_url"].default)
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a process killed by SIGPIPE


class QuietStartFailure(logging.Filter):
    """Drop PTB's log of a failed start-up request (a traceback of ~200 lines for an
    unreachable Bot API or a refused token), which `cmd_run` explains in one line, and the
    traceback of an answer that is not JSON (a wrong base_url). All kept at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            not record.exc_info
            or not record.name.startswith("telegram")
            or logging.getLogger().getEffectiveLevel() <= logging.DEBUG
        ):
            return True
        message = record.getMessage()
        if message.startswith("Network Retry Loop (Bootstrap"):
            from telegram.error import TelegramError

            return not isinstance(record.exc_info[1], TelegramError)
        if message.startswith("Can not load invalid JSON data"):
            record.msg, record.args = message[:200], None
            record.exc_info = record.exc_text = None
        return True


def setup_logging(level: str, *secrets: str) -> None:
    """Log to stderr at `level`, every `secrets` (the bot token, the webhooks' URLs and
    secrets) redacted; keep httpx quiet (it would log URLs, which hold the token)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(*secrets))
    handler.addFilter(QuietStartFailure())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _config_path(args: argparse.Namespace) -> Path | None:
    path: Path | None = args.config
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    return path


def _source(path: Path | None) -> str:
    """Which configuration is read, e.g. "reading config.toml", and what the environment sets."""
    text = f"reading {path}" if path is not None else "no config file; built-in defaults"
    from_env = [name for name in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL") if os.environ.get(name)]
    if from_env:
        text += f" ({' and '.join(from_env)} from the environment)"
    return text


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(_config_path(args))


def cmd_check_config(args: argparse.Namespace) -> int:
    """List every problem and warning of the configuration; exit 1 only for problems."""
    path = _config_path(args)
    print(_source(path))
    review = review_config(path)
    problems = list(review.problems)
    if review.settings is not None:
        url = review.settings.database.url
        print(f"database: {redact(url)}")
        proxy = review.settings.telegram.proxy.get_secret_value()
        if proxy:
            print(f"Bot API proxy: {redact(proxy)}")
        if not any(line.startswith("database.url") for line in problems):
            from db.engine import connection_problem

            reason = connection_problem(url)
            if reason is not None:
                problems.append(f"database.url: cannot connect: {reason}")
    warnings = list(review.warnings)
    if review.settings is not None and not problems:
        line = _plan_check(review.settings)
        if line is not None:
            warnings.append(line)
    for noun, lines in (("problem", problems), ("warning", warnings)):
        if lines:
            print(f"{_count(len(lines), noun)}:")
            for line in lines:
                print(f"  - {line}")
    if problems:
        return 1
    if warnings:
        print(f"configuration OK, with {_count(len(warnings), 'warning')}")
    else:
        print("configuration OK")
    return 0


def _now() -> datetime:
    """The current instant (aware UTC) of the commands that judge the plan by the date."""
    return datetime.now(UTC)


def _plan_check(settings: Settings) -> str | None:
    """The plan check's console line (`bot.backlog`) as `taskbot run` would log it now,
    without writing: from the database when it has the current schema, else from the task
    file. None when nothing is held or the check cannot run (its cause is logged)."""
    from bot import backlog
    from bot.app import make_calendar
    from db.engine import HEAD_REVISION, Database
    from db.seed import read_task_file

    now = _now()
    calendar = make_calendar(settings)
    zone = settings.schedule.zone
    path = sqlite_file(settings.database.url)
    try:
        if path is None or path.exists():  # a check must not create the SQLite file
            database = Database(settings.database.url)
            try:
                if database.schema_revision() == HEAD_REVISION:
                    with database.session() as s:
                        return backlog.preview_from_database(
                            s, now=now, calendar=calendar, zone=zone
                        )
            finally:
                database.dispose()
        plan = read_task_file(settings.tasks.path())
    except (TaskFileError, SQLAlchemyError) as exc:
        log.warning("plan check skipped: %s", exc)
        return None
    return backlog.preview_from_task_file(plan, now=now, calendar=calendar, zone=zone)


def cmd_init(args: argparse.Namespace) -> int:
    """Create or upgrade the schema and load the task file."""
    from sqlmodel import func, select

    from bot.app import prepare_database
    from db.models import Task
    from db.repo import lead_units

    settings = _settings(args)
    database = prepare_database(settings, clock=_now)
    try:
        with database.session() as s:
            tasks = s.exec(select(func.count()).select_from(Task)).one()
            leads = len(lead_units(s))
    finally:
        database.dispose()
    print(
        f"database ready at {redact(database.url)}; "
        f"{_count(tasks, 'task')}, {_count(leads, 'lead unit')}"
    )
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    """Print the tasks from the database (loaded from the task file) as a table or JSON."""
    from sqlmodel import col, select

    from db.models import Task
    from db.repo import unit_names_of_task
    from db.seed import TaskRecord
    from jobs.types import AssignmentRole

    settings = _settings(args)
    database = _open_to_read(settings)
    records: list[TaskRecord] = []
    try:
        with database.session() as s:
            plan_id = _plan_id(s, args.plan)
            if plan_id is None:
                return 1
            tasks = select(Task).where(Task.plan_id == plan_id).order_by(col(Task.number))
            for task in s.exec(tasks):
                records.append(
                    TaskRecord(
                        number=task.number,
                        text=task.text,
                        lead_units=tuple(
                            unit_names_of_task(s, task_id=task.id or 0, role=AssignmentRole.LEAD)
                        ),
                        responsible_units=tuple(
                            unit_names_of_task(
                                s, task_id=task.id or 0, role=AssignmentRole.RESPONSIBLE
                            )
                        ),
                        deadline=task.deadline,
                        responsible_units_note=task.responsible_units_note,
                    )
                )
    finally:
        database.dispose()
    if args.json:
        print(json.dumps([r.as_json() for r in records], ensure_ascii=False, indent=2))
        return 0
    for r in records:
        print(f"{r.number:>3}. {r.text}")
        print(f"     牵头单位: {'、'.join(r.lead_units)}")
        if r.responsible_units_note:
            print(f"     责任单位: {r.responsible_units_note}")
        elif r.responsible_units:
            print(f"     责任单位: {'、'.join(r.responsible_units)}")
        print(f"     完成时限: {r.deadline.isoformat()}")
    return 0


def html_to_text(text: str) -> str:
    """Strip Telegram HTML tags and unescape entities, for printing to a terminal."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def cmd_digest(args: argparse.Namespace) -> int:
    """Render the digest from the database to stdout; nothing is sent."""
    from bot.app import make_calendar, make_services
    from bot.context import system_clock
    from bot.reads import build_current_digest

    settings = _settings(args)
    database = _open_to_read(settings)
    try:
        services = make_services(
            settings, database, clock=system_clock, calendar=make_calendar(settings)
        )
        parts = build_current_digest(services)
    finally:
        database.dispose()
    for i, part in enumerate(parts):
        if i:
            print("\n" + "-" * 40 + "\n")
        print(part if args.html else html_to_text(part))
    return 0


def cmd_channels_test(args: argparse.Namespace) -> int:
    """Post a test message to each configured group robot (DingTalk, WeCom); exit 1 when
    none is configured or any post failed. Prints each robot by its fingerprint, never its
    URL."""
    import asyncio

    from bot.webhooks import test_channels, webhook_secrets
    from jobs.types import DeliveryOutcome

    settings = _settings(args)
    setup_logging(
        "WARNING" if args.log_level == "INFO" else args.log_level,
        settings.token,
        *webhook_secrets(settings),
    )
    results = asyncio.run(test_channels(settings, _now()))
    if not results:
        print(
            "no group robot configured: set dingtalk.webhook and/or wecom.webhook "
            "(or DINGTALK_WEBHOOK, WECOM_WEBHOOK)",
            file=sys.stderr,
        )
        return 1
    failed = 0
    for robot, result in results:
        secrets = robot.secrets()
        if result.outcome == DeliveryOutcome.SENT:
            print(f"{robot.channel} (robot {robot.fingerprint}): test message posted")
        else:
            failed += 1
            reason = redact(result.error or result.outcome.value, *secrets)
            print(
                f"{robot.channel} (robot {robot.fingerprint}): NOT posted "
                f"({result.outcome.value}): {reason}",
                file=sys.stderr,
            )
    return 1 if failed else 0


def _open_to_read(settings: Settings) -> Database:
    """`prepare_database` for a command that only reads (tasks, digest, schedule, export).

    When the SQLite file did not exist (the command was run outside the bot's folder without
    `--config`), says so on stderr: the database just made holds the task file's tasks and
    no report, which would otherwise look like a real, quiet follow-up.
    """
    from bot.app import prepare_database

    path = sqlite_file(settings.database.url)
    fresh = path is not None and not path.exists()
    database = prepare_database(settings, clock=_now, check=False)
    if fresh:
        print(
            f"note: {path} did not exist; it was created with the tasks of the task file and "
            "no reports. To read the bot's own database, pass --config (or run from the "
            "folder of its config.toml).",
            file=sys.stderr,
        )
    return database


MAX_SCHEDULE_DAYS = 366


def _date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date like 2026-10-08: {text!r}") from None


def cmd_schedule(args: argparse.Namespace) -> int:
    """Print the messages due in a date range as they will be sent (per contact and day with
    their tasks, the coordinators' escalations, the digest; while the follow-up is held,
    without what it holds); nothing is sent."""
    from bot.app import make_calendar, make_services
    from bot.backlog import held_at_start
    from bot.context import system_clock
    from bot.schedule_view import render_schedule
    from db import repo
    from jobs.escalation import escalation_key, leaders_escalation_key
    from jobs.schedule import preview_messages
    from jobs.types import Role

    settings = _settings(args)
    zone = settings.schedule.zone
    start = args.start or system_clock().astimezone(zone).date()
    end = args.end or start + timedelta(days=6)
    if end < start:
        print(f"--to {end} is before --from {start}", file=sys.stderr)
        return 2
    if (end - start).days > MAX_SCHEDULE_DAYS:
        print(f"at most {MAX_SCHEDULE_DAYS} days at a time", file=sys.stderr)
        return 2
    calendar = make_calendar(settings)
    database = _open_to_read(settings)
    services = make_services(settings, database, clock=system_clock, calendar=calendar)
    with database.session() as s:
        state = repo.load_state(s).followed_up()  # a closed plan is not followed up
        escalated = repo.settled_keys(
            s,
            keys=[
                key(t, u)
                for t in state.tasks
                for u in t.lead_unit_ids
                for key in (escalation_key, leaders_escalation_key)
            ],
        )
        leaders = bool(settings.telegram.leaders or repo.holders(s, role=Role.LEADER))
        held = held_at_start(s, now=_now(), calendar=calendar, zone=zone)
    database.dispose()
    digest = services.digest_schedule if settings.telegram.digest_chat_id is not None else None
    after = settings.follow_up.escalate_after_working_days
    planned = preview_messages(
        start,
        end,
        state,
        services.policy,
        digest,
        calendar,
        escalate_after_working_days=after if settings.telegram.coordinators else None,
        escalated=escalated,
        held=held,
        escalate_leaders_after_working_days=(
            settings.follow_up.escalate_leaders_after_working_days or None if leaders else None
        ),
    )
    print(render_schedule(planned, json=args.json, held=held))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the ledger (台账) workbook to an .xlsx file; nothing is sent."""
    from bot import texts
    from bot.app import make_calendar, make_services
    from bot.context import system_clock
    from bot.reads import ledger_light_of, ledger_review_of
    from office.ledger import ledger_filename, write_ledger

    settings = _settings(args)
    zone, now = settings.schedule.zone, system_clock()
    if args.with_files is not None:
        return _export_with_files(settings, args.with_files)
    path: Path = args.file or Path(ledger_filename(now, zone))
    if path.suffix.lower() != ".xlsx":
        print(f"{path}: the ledger is an Excel workbook; name the file *.xlsx", file=sys.stderr)
        return 2
    database = _open_to_read(settings)
    services = make_services(
        settings, database, clock=system_clock, calendar=make_calendar(settings)
    )
    try:
        with database.session() as s:
            light_of = ledger_light_of(services, s)
            summary = write_ledger(
                s,
                path,
                zone=zone,
                now=now,
                status_labels=texts.STATUS_LABEL,
                light_of=light_of,
                calendar=services.calendar,
                cycle_day=settings.follow_up.cycle_day,
                review_of=ledger_review_of(services),
            )
    except OSError as exc:
        print(f"cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    print(
        f"ledger written to {path}: {summary.ledger_rows} task/lead-unit rows, "
        f"{summary.reports} reports, {summary.audit_events} audit events"
    )
    return 0


def _export_with_files(settings: Settings, path: Path) -> int:
    """`export --with-files FILE.zip`: the 材料汇编, split into parts over 50 MB."""
    from bot.app import make_calendar, make_services
    from bot.context import system_clock
    from bot.evidence import write_files_export

    if path.suffix.lower() != ".zip":
        print(f"{path}: the 材料汇编 is a zip archive; name the file *.zip", file=sys.stderr)
        return 2
    database = _open_to_read(settings)
    services = make_services(
        settings, database, clock=system_clock, calendar=make_calendar(settings)
    )
    try:
        done = write_files_export(services, path, part_limit=settings.evidence.zip_part_bytes)
    except OSError as exc:
        print(f"cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    print(
        f"材料汇编 written: the ledger and {_count(done.files, 'evidence file')} in "
        + ", ".join(str(p) for p in done.paths)
    )
    if done.missing:
        print(
            f"warning: {_count(done.missing, 'evidence file')} missing from the evidence "
            "folder, left out",
            file=sys.stderr,
        )
    return 0


def cmd_milestone(args: argparse.Namespace) -> int:
    """Add a yearly milestone (年度目标) to a task, audited; list its milestones without
    DATE and TEXT."""
    from bot.app import prepare_database
    from db import repo
    from jobs.dates import parse_date

    settings = _settings(args)
    now = _now()
    today = now.astimezone(settings.schedule.zone).date()
    due_on = None
    if args.date is not None:
        due_on = parse_date(args.date, today)
        if due_on is None or not args.text:
            print(
                "usage: taskbot milestone NUMBER DATE TEXT (DATE e.g. 2027-12-31)", file=sys.stderr
            )
            return 2
    database = prepare_database(settings)
    try:
        with database.session() as s:
            plan_id = _plan_id(s, args.plan)
            if plan_id is None:
                return 1
            found = repo.tasks_by_numbers(s, numbers=[args.number], plan_id=plan_id)
            if not found or found[0].id is None:
                print(f"no task {args.number}", file=sys.stderr)
                return 1
            task = found[0]
            assert task.id is not None
            if due_on is not None:
                if due_on >= task.deadline:
                    print(
                        f"a milestone is due before the task's deadline ({task.deadline})",
                        file=sys.stderr,
                    )
                    return 1
                start = next(p.period_start for p in repo.read_plans(s) if p.id == plan_id)
                if due_on < start:
                    print(
                        f"a milestone is due within the plan's period (from {start})",
                        file=sys.stderr,
                    )
                    return 1
                try:
                    repo.add_milestone(
                        s,
                        task_id=task.id,
                        due_on=due_on,
                        text=" ".join(args.text),
                        actor_user_id=0,
                        now=now,
                    )
                except ValueError as exc:
                    print(str(exc), file=sys.stderr)
                    return 2
            for milestone in repo.milestones_of_task(s, task_id=task.id):
                state = f"closed {milestone.closed_on}" if milestone.closed_on else "open"
                print(f"task {task.number}: {milestone.due_on} {milestone.text} ({state})")
    finally:
        database.dispose()
    return 0


def cmd_deadline(args: argparse.Namespace) -> int:
    """Change the deadline of a range of tasks: preview, and store only with --yes; the
    contacts concerned are told by the running bot on its next tick (in sending hours)."""
    from bot import deadline_view, render
    from bot.app import prepare_database
    from db import repo
    from jobs.dates import DateRefusal, parse_new_deadline
    from jobs.plans import plans_named

    settings = _settings(args)
    now = _now()
    today = now.astimezone(settings.schedule.zone).date()
    new = parse_new_deadline(args.date, today)
    if isinstance(new, DateRefusal):
        print(
            html_to_text(render.date_refusal(new, args.date, today, current=None)), file=sys.stderr
        )
        return 2
    reason = (args.reason or "").strip() or None
    refusal = deadline_view.reason_refusal(reason)
    if refusal is not None:
        print(html_to_text(refusal), file=sys.stderr)
        return 2
    database = prepare_database(settings)
    try:
        with database.session() as s:
            plan_id = _plan_id(s, args.plan)
            if plan_id is None:
                return 1
            scope = deadline_view.resolve_scope(s, args.range, plan_id)
            if isinstance(scope, str):
                print(html_to_text(scope), file=sys.stderr)
                return 1
            plans = repo.read_plans(s)
            if plans_named(plans):
                plan = next(p for p in plans if p.id == plan_id)
                print(f"plan: {plan.label} ({plan.document_number}; --plan NAME for another)")
            preview = deadline_view.preview_text(s, scope, new, reason)
            if isinstance(preview, str):
                print(html_to_text(preview))
                return 0
            print(html_to_text(preview[0]))
            if not args.yes:
                print("nothing stored: run again with --yes to apply")
                return 0
            changes, told = deadline_view.apply_and_queue(
                s,
                numbers=[t.number for t in scope.tasks],
                new=new,
                actor_user_id=0,
                reason=reason,
                now=now,
                plan_id=plan_id,
            )
        with database.session() as s:
            held = _recheck_hold(s, settings, now)
    finally:
        database.dispose()
    print(
        f"{_count(len(changes), 'deadline')} changed; {_count(told, 'contact')} will be told "
        "by the running bot on its next tick (working days, in sending hours)"
    )
    if held is not None:
        print(held)
    return 0


def cmd_unit_change(args: argparse.Namespace) -> int:
    """Rename a unit or merge it into another (机构改革): print what would change, and store
    it only with --yes (audited; the old names kept as aliases)."""
    from bot import unit_change
    from bot.app import prepare_database

    kind = unit_change.RENAME if args.unit_command == "rename" else unit_change.MERGE
    settings = _settings(args)
    database = prepare_database(settings)
    try:
        with database.session() as s:
            change = unit_change.resolve(s, kind, args.unit, args.target)
            if isinstance(change, str):
                print(html_to_text(change), file=sys.stderr)
                return 1
            print(html_to_text(unit_change.preview_text(s, change)))
            if not args.yes:
                print("nothing stored: run again with --yes to apply")
                return 0
            done = unit_change.apply(s, change, actor_user_id=0, now=_now())
    finally:
        database.dispose()
    print(html_to_text(done))
    return 0


def _recheck_hold(s: Session, settings: Settings, now: datetime) -> str | None:
    """After deadlines changed: check the plan again as `/deadline` does in chat (lifting an
    open hold whose cause is gone) and say what came of it; None when nothing was held."""
    from bot.app import make_calendar
    from db import repo

    if repo.open_hold(s) is None:
        return None
    checks = repo.check_plans(
        s, now=now, calendar=make_calendar(settings), zone=settings.schedule.zone, lift_only=True
    )
    if all(check.hold is None for check in checks):
        return "the held follow-up is lifted: no open task is overdue enough to hold it"
    return (
        "the follow-up stays held: tasks are still overdue; a coordinator decides in chat "
        "(/backlog), or set new deadlines for them too"
    )


async def _bot_username(settings: Settings) -> str:
    """The bot's @username, asked of the Bot API (getMe) with the configured token, address
    and proxy."""
    from telegram import Bot

    from bot.transport import make_request

    tg = settings.telegram
    request = make_request(
        connection_pool_size=1, timeout=tg.timeout_seconds, proxy=tg.proxy.get_secret_value()
    )
    bot = Bot(settings.token, base_url=tg.base_url, base_file_url=tg.base_file_url, request=request)
    async with bot:
        return bot.username


def cmd_invites(args: argparse.Namespace) -> int:
    """Create an invite for every lead unit without a contact and write the printable sheet
    (.docx) of their links and QR codes."""
    from bot import render
    from bot.app import prepare_database
    from bot.context import system_clock
    from bot.handlers import create_invites, invite_link
    from db import repo
    from office.invites import InviteEntry, write_invite_sheet

    path: Path = args.out
    if path.suffix.lower() != ".docx":
        print(f"{path}: the invite sheet is a Word document; name the file *.docx", file=sys.stderr)
        return 2
    settings = _settings(args)
    username = (args.bot_username or "").lstrip("@")
    if not username:
        if not settings.token:
            print(
                "the bot's username is needed for the links: pass --bot-username, or set the "
                "token (TELEGRAM_BOT_TOKEN) so that it can be asked of Telegram",
                file=sys.stderr,
            )
            return 2
        try:
            username = asyncio.run(_bot_username(settings))
        except Exception as exc:  # any failure to reach the Bot API: say so, exit 1
            print(
                f"cannot ask Telegram for the bot's username ({type(exc).__name__}: {exc}); "
                "pass it with --bot-username (as @BotFather shows it)",
                file=sys.stderr,
            )
            return 1
    zone, now = settings.schedule.zone, system_clock()
    database = prepare_database(settings)
    try:
        with database.session() as s:
            units = repo.lead_units_without_contact(s)
            if not units:
                print("every lead unit has a contact: no invite created")
                return 0
            invites = create_invites(
                s, units, created_by=0, now=now, valid_for=settings.invites.valid_for
            )
            entries = [
                InviteEntry(
                    unit=unit.name,
                    link=invite_link(username, invite.code),
                    expires=render.fmt_instant(invite.expires_at, zone),
                )
                for unit, invite in zip(units, invites, strict=True)
            ]
            try:
                write_invite_sheet(path, entries, generated_at=render.fmt_instant(now, zone))
            except OSError as exc:  # nothing stored: the session rolls back
                raise _SheetNotWritten(f"cannot write {path}: {exc.strerror or exc}") from exc
    except _SheetNotWritten as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        database.dispose()
    print(f"invite sheet written to {path}: {_count(len(entries), 'unit')} without a contact")
    return 0


class _SheetNotWritten(Exception):
    """The invite sheet could not be written; the invites are not stored."""


def cmd_backup(args: argparse.Namespace) -> int:
    """Write a consistent copy of the SQLite database (safe while the bot runs)."""
    from db.engine import Database

    settings = _settings(args)
    source = sqlite_file(settings.database.url)
    if source is not None and not source.exists():  # do not create an empty database
        print(f"backup not written: there is no database at {source}", file=sys.stderr)
        return 1
    if args.file.exists():
        print(f"backup not written: {args.file} exists; choose a new file name", file=sys.stderr)
        return 1
    database = Database(settings.database.url)
    try:
        database.backup(args.file)
    except (ValueError, FileExistsError) as exc:
        print(f"backup not written: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    print(f"backup of {redact(database.url)} written to {args.file}")
    store = EvidenceStore(evidence_dir(settings))
    target = archive_path(args.file)
    try:
        count = archive(store, target)
    except OSError as exc:
        print(f"evidence files not backed up: {exc}", file=sys.stderr)
        return 1
    print(f"{_count(count, 'evidence file')} of {store.root} written to {target}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Put a backup back: the SQLite database (only where there is none) and its evidence."""
    settings = _settings(args)
    target = sqlite_file(settings.database.url)
    if target is None:
        print(
            "restore copies a SQLite backup; for PostgreSQL use its own tool (pg_restore)",
            file=sys.stderr,
        )
        return 1
    if not args.file.is_file():
        print(f"nothing restored: there is no backup at {args.file}", file=sys.stderr)
        return 1
    if target.exists():
        print(
            f"nothing restored: {target} exists; stop the bot and move it away first",
            file=sys.stderr,
        )
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".part-{target.name}")
    shutil.copyfile(args.file, temp)
    os.replace(temp, target)
    print(f"database restored to {target}")
    source = archive_path(args.file)
    if source.is_file():
        store = EvidenceStore(evidence_dir(settings))
        try:
            count = restore_archive(store, source)
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            print(f"evidence files not restored: {exc}", file=sys.stderr)
            return 1
        print(f"{_count(count, 'evidence file')} restored to {store.root}")
    return 0


def cmd_prune_evidence(args: argparse.Namespace) -> int:
    """Delete stored evidence files older than `evidence.retention_days` once the plan's
    period has ended (audited); nothing when the retention is 0 (keep for ever)."""
    from bot.evidence import prune_evidence

    settings = _settings(args)
    days = settings.evidence.retention_days
    if days == 0:
        print("evidence.retention_days is 0: evidence files are kept for ever; nothing deleted")
        return 0
    database = _open_to_read(settings)
    try:
        result = prune_evidence(
            database,
            EvidenceStore(evidence_dir(settings)),
            now=_now(),
            zone=settings.schedule.zone,
            retention_days=days,
            dry_run=not args.yes,
        )
    finally:
        database.dispose()
    if result.period_open:
        print("the plan's period has not ended: evidence files are kept; nothing deleted")
        return 0
    verb = "deleted" if args.yes else "would be deleted (pass --yes to delete)"
    print(f"{_count(result.files, 'evidence file')} older than {days} days {verb}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the bot with long polling until interrupted."""
    from telegram import Update
    from telegram.error import InvalidToken, NetworkError, TelegramError

    from bot.app import build_application
    from bot.transport import close_transports

    path = _config_path(args)
    review = review_config(path)
    if review.settings is None or review.problems:
        print(_source(path), file=sys.stderr)
        print(
            f"cannot start: {_count(len(review.problems), 'problem')} in the configuration "
            "(taskbot check-config lists them too):",
            file=sys.stderr,
        )
        for problem in review.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    settings = review.settings
    from bot.webhooks import webhook_secrets

    setup_logging(args.log_level, settings.token, *webhook_secrets(settings))
    log.info("%s; database: %s", _source(path), redact(settings.database.url))
    proxy = settings.telegram.proxy.get_secret_value()
    if proxy:
        log.info("Bot API proxy: %s", redact(proxy))
    for warning in review.warnings:
        log.warning("configuration: %s", warning)
    app = build_application(settings)
    base_url = redact(settings.telegram.base_url, settings.token)
    try:
        app.run_polling(allowed_updates=Update.ALL_TYPES, close_loop=False)
    except AlreadyRunning as exc:
        print(f"cannot start: {exc}; stop it first (one bot per database)", file=sys.stderr)
        return 1
    except InvalidToken:
        by = "Telegram" if base_url == TELEGRAM_BASE_URL else f"the Bot API at {base_url}"
        print(
            f"cannot start: the bot token was refused by {by} (InvalidToken); "
            "check it with @BotFather" + ("" if by == "Telegram" else ", and check base_url"),
            file=sys.stderr,
        )
        return 1
    except NetworkError as exc:  # TimedOut included
        reason = redact(str(exc), settings.token)
        via = f" through the proxy {redact(proxy)}" if proxy else ""
        print(
            f"cannot start: cannot reach the Bot API at {base_url}{via}: {reason}",
            file=sys.stderr,
        )
        return 1
    except TelegramError as exc:  # e.g. base_url is a web server, not a Bot API
        reason = redact(f"{type(exc).__name__}: {exc}", settings.token)
        print(f"cannot start: the Bot API at {base_url} failed: {reason}", file=sys.stderr)
        return 1
    finally:  # after a failed start python-telegram-bot leaves the transports open
        loop = asyncio.get_event_loop()
        loop.run_until_complete(close_transports(app.bot_data.transports))
        loop.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the scripted demo against the local Bot API stand-in and print the chat."""
    from standin.demo import run_demo

    print(asyncio.run(run_demo(verbose=args.verbose)))
    return 0


def _known_unit_names(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The unit names an import is checked against: those of the task file (the configured
    one, else the shipped plan) and, when a config is given, those of its database; and the
    database's aliases, {former name: current name}."""
    from sqlmodel import select

    from db import repo
    from db.engine import Database
    from db.models import Unit
    from db.seed import read_task_file

    config = _config_path(args)
    settings = _settings(args) if config is not None else None
    names = read_task_file(settings.tasks.path() if settings else None).unit_names()
    aliases: dict[str, str] = {}
    if settings is None:
        return names, aliases
    sqlite_path = sqlite_file(settings.database.url)
    if sqlite_path is not None and not sqlite_path.exists():
        return names, aliases
    database = Database(settings.database.url)
    try:
        with database.session() as s:
            aliases = repo.alias_names(s)
            names = [n for n in names if n not in aliases]
            names += [n for n in s.exec(select(Unit.name)) if n not in names]
    except SQLAlchemyError as exc:
        from db.engine import describe_error

        print(f"note: unit names of the database not read: {describe_error(exc)}", file=sys.stderr)
    finally:
        database.dispose()
    return names, aliases


def _named_plan(s: Session, name: str) -> PlanView | None:
    """The plan `name` names (its 简称 or 文号, as chat commands read it:
    `jobs.plans.choose_plan`), or None."""
    from db import repo
    from jobs.plans import choose_plan

    choice = choose_plan(repo.read_plans(s), [name])
    return choice.plan if choice.named else None


def _plan_id(s: Session, name: str | None) -> int | None:
    """The id of the plan named `name` (its 简称 or 文号; None: the newest active plan), or
    None after saying on stderr that there is no such plan."""
    from db import repo
    from jobs.plans import choose_plan

    plan = _named_plan(s, name) if name else choose_plan(repo.read_plans(s), []).plan
    if plan is None:
        plans = repo.read_plans(s)
        known = "、".join(p.short_name or p.document_number for p in plans) or "none loaded"
        print(f"no plan named {name!r} (plans: {known})", file=sys.stderr)
        return None
    return plan.id


def _indicator_json(view: object, plan: object, today: date) -> dict[str, object]:
    """One indicator as `taskbot indicators --json` prints it."""
    from db.repo import IndicatorView
    from jobs.indicators import indicator_light
    from jobs.plans import PlanView

    assert isinstance(view, IndicatorView) and isinstance(plan, PlanView)
    assessment = indicator_light(
        target=view.target,
        kind=view.kind,
        values=view.by_year(),
        today=today,
        period_start=plan.period_start,
        period_end=plan.period_end,
    )
    return {
        "number": view.number,
        "name": view.name,
        "measure": view.measure,
        "target": view.target_text,
        "attribute": {"binding": "约束性", "expected": "预期性"}[view.attribute.value],
        "kind": view.kind.value,
        "values": [
            {
                "year": v.year,
                "value": int(v.value) if v.value.is_integer() else v.value,
                "source": v.source,
            }
            for v in view.values
        ],
        "light": assessment.light.value,
    }


def cmd_indicators(args: argparse.Namespace) -> int:
    """List a plan's main indicators (主要指标) with their targets, values and lights;
    `indicators set` records a value, `indicators owner` sets the owner unit."""
    from db import repo

    settings = _settings(args)
    now = _now()
    today = now.astimezone(settings.schedule.zone).date()
    sub = getattr(args, "indicators_command", None)
    if sub is None:
        database = _open_to_read(settings)
    else:
        from bot.app import prepare_database

        database = prepare_database(settings)
    try:
        with database.session() as s:
            plan_id = _plan_id(s, args.plan)
            if plan_id is None:
                return 1
            plan = next(p for p in repo.read_plans(s) if p.id == plan_id)
            if sub == "set":
                try:
                    value = float(args.value.replace("％", "").replace("%", "").strip())
                except ValueError:
                    print(f"not a number: {args.value!r}", file=sys.stderr)
                    return 2
                try:
                    repo.record_value(
                        s,
                        plan_id=plan_id,
                        number=args.number,
                        year=args.year,
                        value=value,
                        source=args.source,
                        entered_by=0,
                        today=today,
                        now=now,
                    )
                except repo.IndicatorRefused as exc:
                    print(f"not recorded: {exc}", file=sys.stderr)
                    return 1
                print(f"indicator {args.number} of {plan.label}: {args.year} value recorded")
                return 0
            if sub == "owner":
                unit_id: int | None = None
                if args.unit not in ("-", ""):
                    unit, _ = repo.resolve_unit(s, text=args.unit)
                    if unit is None or unit.id is None:
                        print(f"no unit named {args.unit!r}", file=sys.stderr)
                        return 1
                    unit_id = unit.id
                try:
                    repo.set_owner(
                        s,
                        plan_id=plan_id,
                        number=args.number,
                        unit_id=unit_id,
                        actor_user_id=0,
                        now=now,
                    )
                except repo.IndicatorRefused as exc:
                    print(f"not changed: {exc}", file=sys.stderr)
                    return 1
                print(f"indicator {args.number} of {plan.label}: owner {args.unit}")
                return 0
            views = repo.plan_indicators(s, plan_id=plan_id)
            rows = [_indicator_json(v, plan, today) for v in views]
            owners = [v.owner_unit_name or "-" for v in views]
    finally:
        database.dispose()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print(f"{plan.label}: no main indicators (add [[indicators]] to its task file)")
    for row, owner in zip(rows, owners, strict=True):
        measure = f"（{row['measure']}）" if row["measure"] else ""
        print(
            f"{row['number']:>3}. {row['name']}{measure}  目标 {row['target']}  {row['attribute']}"
        )
        values = row["values"]
        assert isinstance(values, list)
        shown = "、".join(f"{v['year']}年 {v['value']}" for v in values) or "无数据"
        print(f"     {shown}  light: {row['light']}  owner: {owner}")
    return 0


def cmd_plan_list(args: argparse.Namespace) -> int:
    """List the plans: 简称, 文号, period, status, number of tasks, title."""
    from sqlmodel import select

    from db import repo
    from db.models import Task

    settings = _settings(args)
    database = _open_to_read(settings)
    try:
        with database.session() as s:
            counts: dict[int, int] = {}
            for plan_id in s.exec(select(Task.plan_id)):
                counts[plan_id] = counts.get(plan_id, 0) + 1
            plans = repo.read_plans(s)
            default = repo.default_plan_id(s)
    finally:
        database.dispose()
    for plan in plans:
        mark = "*" if plan.id == default else " "
        print(
            f"{mark} {plan.short_name or '-'}  {plan.document_number}  "
            f"{plan.period_start.isoformat()}..{plan.period_end.isoformat()}  "
            f"{plan.status.value}  {_count(counts.get(plan.id, 0), 'task')}  {plan.title}"
        )
    print("* the plan commands mean when they name none (the newest active plan)")
    return 0


def cmd_plan_load(args: argparse.Namespace) -> int:
    """Load a reviewed task file as a new plan, or update the plan with its 文号."""
    from bot import backlog
    from bot.app import make_calendar, prepare_database
    from db import repo
    from db.seed import TaskFileError, load_plan, read_task_file

    try:
        record = read_task_file(args.file)
    except TaskFileError as exc:
        print(f"cannot load {args.file}: {exc}", file=sys.stderr)
        return 1
    settings = _settings(args)
    now = _now()
    database = prepare_database(settings)
    try:
        try:
            with database.session() as s:
                summary = load_plan(s, record, now=now)
        except TaskFileError as exc:
            print(f"cannot load {args.file}: {exc}", file=sys.stderr)
            return 1
        with database.session() as s:
            checks = repo.check_plans(
                s, now=now, calendar=make_calendar(settings), zone=settings.schedule.zone
            )
            lines = [
                backlog.console_line(c.finding, None)
                for c in checks
                if c.plan.id == summary.plan_id and c.hold is not None
            ]
    finally:
        database.dispose()
    verb = "added" if summary.plan_added else "updated"
    print(
        f"plan {summary.plan_name} ({record.document_number}) {verb}: "
        f"{_count(summary.tasks_added, 'task')} added, {summary.tasks_updated} updated, "
        f"{_count(summary.units_added, 'unit')} added; reports are kept"
    )
    for line in lines:
        if line:
            print(line)
    return 0


def cmd_plan_evaluate(args: argparse.Namespace) -> int:
    """Write the 总结评估 draft (中期评估 before the plan's period ends) of a plan to a .docx."""
    from bot import texts
    from db import repo
    from jobs.evaluation import evaluate
    from office.evaluation import write_evaluation
    from office.indicators import indicator_rows

    path: Path = args.file
    if path.suffix.lower() != ".docx":
        print(f"{path}: the evaluation is a Word document; name the file *.docx", file=sys.stderr)
        return 2
    settings = _settings(args)
    zone = settings.schedule.zone
    today = _now().astimezone(zone).date()
    as_of: date = args.as_of or today
    if as_of > today:
        print(f"--as-of {as_of} is in the future (today is {today})", file=sys.stderr)
        return 2
    database = _open_to_read(settings)
    try:
        with database.session() as s:
            plan_id = _plan_id(s, args.plan)
            if plan_id is None:
                return 1
            plan, tasks, reports = repo.evaluation_input(s, plan_id=plan_id, zone=zone)
            indicators = indicator_rows(s, plan, as_of)
    finally:
        database.dispose()
    if as_of < plan.period_start:
        print(
            f"--as-of {as_of} is before the plan's period ({plan.period_start}..{plan.period_end})",
            file=sys.stderr,
        )
        return 2
    evaluation = evaluate(plan, tasks, reports, as_of=as_of)
    try:
        write_evaluation(evaluation, path, status_labels=texts.STATUS_LABEL, indicators=indicators)
    except OSError as exc:
        print(f"cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    kind = "interim evaluation (中期评估)" if evaluation.interim else "evaluation (总结评估)"
    print(
        f"{kind} of {plan.label} as of {as_of} written to {path}: "
        f"{_count(len(evaluation.tasks), 'task')}, {evaluation.completion.done} done "
        f"({evaluation.completion.percent}), on time {evaluation.on_time_original.percent} "
        f"(original deadlines) / {evaluation.on_time_adjusted.percent} (adjusted); "
        f"{_count(evaluation.reports, 'report')} ({evaluation.backfilled_reports} 补录)"
    )
    return 0


def _document_target(path: Path) -> int | None:
    """2 after saying on stderr that `path` is not a .docx name, else None."""
    if path.suffix.lower() != ".docx":
        print(f"{path}: the document is a Word document; name the file *.docx", file=sys.stderr)
        return 2
    return None


def _write_document(
    args: argparse.Namespace, build: Callable[[Services, int | None], tuple[Any, bytes | None]]
) -> tuple[Any, bytes | None] | int:
    """Run `build(services, plan id)` on the database (`--plan`: that plan's id, None without
    it) and write its .docx to `args.file`: what `build` returned, or the exit code after
    saying on stderr what went wrong (a broken template, a file that cannot be written)."""
    from bot.app import make_calendar, make_services
    from bot.context import system_clock
    from office.notices import TemplateError

    settings = _settings(args)
    database = _open_to_read(settings)
    try:
        services = make_services(
            settings, database, clock=system_clock, calendar=make_calendar(settings)
        )
        plan_id = None
        if args.plan:
            with database.session() as s:
                plan_id = _plan_id(s, args.plan)
            if plan_id is None:
                return 1
        built = build(services, plan_id)
    except TemplateError as exc:
        print(f"template problem: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    if built[1] is not None:
        try:
            args.file.write_bytes(built[1])
        except OSError as exc:
            print(f"cannot write {args.file}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    return built


def cmd_notice(args: argparse.Namespace) -> int:
    """Write the 督办通知单 of one unit (its open tasks in three colours) to a .docx."""
    from bot.notices_view import notice_document
    from db import repo

    bad = _document_target(args.file)
    if bad is not None:
        return bad
    unit_name = ""

    def build(services: Services, plan_id: int | None) -> tuple[Any, bytes | None]:
        nonlocal unit_name
        with services.db.session() as s:
            unit, suggestions = repo.resolve_unit(s, text=args.unit)
        if unit is None:
            maybe = f" (did you mean {'、'.join(suggestions)}?)" if suggestions else ""
            print(f"no unit named {args.unit!r}{maybe}", file=sys.stderr)
            return None, None
        unit_name = unit.name
        return notice_document(services, unit.id or 0, plan_id=plan_id, number=args.number)

    done = _write_document(args, build)
    if isinstance(done, int):
        return done
    filled, content = done
    if filled is None:
        return 1
    if content is None:
        print(f"{unit_name} has no open task of an active plan; nothing written", file=sys.stderr)
        return 1
    print(
        f"督办通知单 of {unit_name} written to {args.file}: {filled['open_count']} open tasks, "
        f"{filled['overdue_count']} overdue; reply by {filled['reply_by']}"
    )
    return 0


def cmd_bulletin(args: argparse.Namespace) -> int:
    """Write the 督查通报 (every active plan, or --plan) to a .docx."""
    from bot.notices_view import bulletin_document

    bad = _document_target(args.file)
    if bad is not None:
        return bad
    done = _write_document(
        args,
        lambda services, plan_id: bulletin_document(services, plan_id=plan_id, number=args.number),
    )
    if isinstance(done, int):
        return done
    filled, content = done
    if content is None:
        print("no active plan to report on; nothing written", file=sys.stderr)
        return 1
    names = ", ".join(p["name"] for p in filled["plans"])
    print(f"督查通报 ({names}; {filled['period']}) written to {args.file}")
    return 0


def cmd_plan_close(args: argparse.Namespace) -> int:
    """Close a plan (its reminders stop; its records stay), optionally carrying its
    unfinished tasks over into another plan: print the preview, store only with --yes."""
    from bot import plan_close
    from bot.app import prepare_database
    from db import repo
    from jobs.plans import PlanView

    if (args.carry_into is None) != (args.deadline is None):
        print("--carry-into and --deadline go together", file=sys.stderr)
        return 2
    settings = _settings(args)
    today = _now().astimezone(settings.schedule.zone).date()
    if args.deadline is not None and args.deadline < today:
        print(
            f"--deadline {args.deadline} is in the past (today is {today}): the carried "
            "tasks would be overdue at once",
            file=sys.stderr,
        )
        return 2
    database = prepare_database(settings)
    try:
        with database.session() as s:
            plan = plan_close.find_plan(s, args.name)
            if not isinstance(plan, PlanView):
                print(html_to_text(plan), file=sys.stderr)
                return 1
            into: PlanView | None = None
            if args.carry_into is not None:
                into = _named_plan(s, args.carry_into)
                if into is None or into.id == plan.id:
                    print(f"no other plan named {args.carry_into!r}", file=sys.stderr)
                    return 1
                if not into.active:
                    print(
                        f"plan {into.label} is closed: carry into an active plan", file=sys.stderr
                    )
                    return 1
            print(html_to_text(plan_close.preview_text(s, plan, into=into, deadline=args.deadline)))
            if not args.yes:
                print("nothing stored: run again with --yes to apply")
                return 0
            try:
                done = plan_close.apply(
                    s, plan, into=into, deadline=args.deadline, actor_user_id=0, now=_now()
                )
            except repo.PlanChangeRefused as refused:
                s.rollback()
                print(refused.message, file=sys.stderr)
                return 1
    finally:
        database.dispose()
    print(html_to_text(done))
    return 0


def cmd_plan_rhythm(args: argparse.Namespace) -> int:
    """Set a plan's reporting rhythm (`jobs.rhythm`), audited; `default` goes back to the
    configured monthly cycle."""
    from bot.app import prepare_database
    from db import repo
    from jobs.rhythm import check_day, parse_rhythm

    rhythm = None
    if args.rhythm != "default":
        try:
            rhythm = parse_rhythm(args.rhythm)
            if args.day is not None:
                check_day(args.day)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    settings = _settings(args)
    database = prepare_database(settings)
    try:
        with database.session() as s:
            plan = _named_plan(s, args.name)
            if plan is None:
                print(f"no plan named {args.name!r}", file=sys.stderr)
                return 1
            repo.set_plan_rhythm(
                s, plan_id=plan.id, rhythm=rhythm, day=args.day, actor_user_id=0, now=_now()
            )
    finally:
        database.dispose()
    if rhythm is None:
        print(
            f"plan {plan.label}: monthly from day {settings.follow_up.cycle_day} "
            "(the configured cycle)"
        )
    else:
        day = args.day if args.day is not None else settings.follow_up.cycle_day
        print(f"plan {plan.label}: {rhythm.value} from day {day}")
    return 0


def cmd_plan_reopen(args: argparse.Namespace) -> int:
    """Reopen a closed plan (console only): print what it does, store only with --yes."""
    from bot.app import prepare_database
    from db import repo

    settings = _settings(args)
    database = prepare_database(settings)
    try:
        with database.session() as s:
            plan = _named_plan(s, args.name)
            if plan is None:
                print(f"no plan named {args.name!r}", file=sys.stderr)
                return 1
            if plan.active:
                print(f"plan {plan.label} is not closed", file=sys.stderr)
                return 1
            print(f"reopen plan {plan.label} ({plan.document_number}): its follow-up resumes")
            if not args.yes:
                print("nothing stored: run again with --yes to apply")
                return 0
            repo.reopen_plan(s, plan_id=plan.id, actor_user_id=0, now=_now())
    finally:
        database.dispose()
    print(f"plan {plan.label} reopened")
    return 0


def cmd_plan_import(args: argparse.Namespace) -> int:
    """Read a 重点任务分工 table from a document; write a task file for review (or --json)."""
    from office.plan_import import (
        PlanIdentity,
        PlanImportError,
        document_text,
        find_identity,
        import_document,
        task_file_text,
    )

    source: Path = args.file
    out: Path = args.out or source.with_suffix(".tasks.toml")
    if not source.is_file():
        print(f"{source}: no such file", file=sys.stderr)
        return 1
    if not args.json and out.exists() and not args.force:
        print(f"{out} exists; pass --force to overwrite it, or --out another file", file=sys.stderr)
        return 1
    try:
        result = import_document(source, *_known_unit_names(args))
    except PlanImportError as exc:
        print(f"cannot import {source}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([t.as_json() for t in result.tasks], ensure_ascii=False, indent=2))
        if result.not_placed:
            print(f"{_count(len(result.not_placed), 'row')} not placed:", file=sys.stderr)
            for row in result.not_placed:
                print(f"  {row}", file=sys.stderr)
        return 0
    try:
        try:
            identity = find_identity(document_text(source))
        except PlanImportError:
            identity = PlanIdentity()
        out.write_text(task_file_text(result, source.name, identity), encoding="utf-8")
    except OSError as exc:
        print(f"cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"task file for review written to {out} (check its [plan], fill in what is missing)")
    print("\n".join(result.report()))
    return 0


def cmd_plan_backfill(args: argparse.Namespace) -> int:
    """Load past records (补录) from a sheet in the ledger's 反馈记录 layout: print what
    would be stored and what is refused (row number and reason); store every good row, in
    one transaction, only with --yes (entered by 0, the console)."""
    from sqlmodel import select

    from bot import backfill_view
    from bot.app import prepare_database
    from bot.flow_common import note_problem
    from db import repo
    from db.models import Plan
    from jobs.backfill import PlanPeriod, check_backfill
    from office.backfill import BackfillFileError, BackfillRow, read_backfill_file

    settings = _settings(args)
    zone = settings.schedule.zone
    now = _now()
    today = now.astimezone(zone).date()
    try:
        sheet = read_backfill_file(args.file, today)
    except BackfillFileError as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 1
    refused = [(p.row, p.reason) for p in sheet.problems]
    good: list[str] = []
    duplicates: list[int] = []
    stored = 0
    database = prepare_database(settings)
    try:
        with database.session() as s:
            default_plan = _plan_id(s, args.plan)
            if default_plan is None:
                return 1
            plans = {p.id: p for p in s.exec(select(Plan))}
            by_name: dict[str, int] = {}
            for plan in plans.values():
                for name in (plan.title, plan.document_number, plan.short_name):
                    if name:
                        by_name.setdefault(name, plan.id or 0)
            chosen: list[tuple[int, int, int, BackfillRow]] = []  # row, task id, unit id, record
            for record in sheet.rows:
                plan_id = by_name.get(record.plan) if record.plan else default_plan
                plan_row: Plan | None = plans.get(plan_id) if plan_id is not None else None
                if plan_row is None:
                    refused.append((record.row, f"计划 {record.plan!r} is not a plan"))
                    continue
                task = repo.get_task(s, number=record.number, plan_id=plan_row.id)
                if task is None:
                    refused.append(
                        (
                            record.row,
                            f"{plan_row.short_name or plan_row.title} has no task {record.number}",
                        )
                    )
                    continue
                unit, _suggestions = repo.resolve_unit(s, text=record.unit)
                if unit is None:
                    refused.append((record.row, f"单位 {record.unit!r} is not a known unit"))
                    continue
                period = PlanPeriod(plan_row.period_start, plan_row.period_end)
                named = repo.may_report(s, task_id=task.id or 0, unit_id=unit.id or 0)
                refusal = check_backfill(
                    occurred_on=record.occurred_on, today=today, period=period, named=named
                )
                problem = note_problem(record.note) if record.note else None
                if refusal is not None:
                    reason = backfill_view.refusal_text(
                        refusal,
                        occurred_on=record.occurred_on,
                        plan_title=plan_row.title,
                        period=period,
                        unit=unit.name,
                        number=record.number,
                    )
                    refused.append((record.row, html_to_text(reason)))
                    continue
                if problem is not None:
                    refused.append((record.row, html_to_text(problem)))
                    continue
                if repo.backfill_exists(
                    s,
                    task_id=task.id or 0,
                    unit_id=unit.id or 0,
                    occurred_on=record.occurred_on,
                    status=record.status,
                    note=record.note,
                ):
                    duplicates.append(record.row)
                    continue
                status = record.status.value if record.status else "note"
                good.append(
                    f"  row {record.row}: {record.occurred_on.isoformat()} "
                    f"{plan_row.short_name or plan_row.title} task {record.number} "
                    f"{unit.name} {status} {record.note[:40]}"
                )
                chosen.append((record.row, task.id or 0, unit.id or 0, record))
            if args.yes:
                for _row, task_id, unit_id, record in chosen:
                    repo.add_backfill(
                        s,
                        task_id=task_id,
                        unit_id=unit_id,
                        status=record.status,
                        note=record.note,
                        occurred_on=record.occurred_on,
                        entered_by=0,
                        now=now,
                        zone=zone,
                    )
                    stored += 1
    finally:
        database.dispose()
    print(f"{_count(len(good), 'row')} to store:")
    print("\n".join(good) if good else "  none")
    if refused:
        print(f"{_count(len(refused), 'row')} refused:")
        for row, reason in sorted(refused):
            print(f"  row {row}: {reason}")
    if sheet.skipped:
        print(
            f"{_count(len(sheet.skipped), 'row')} skipped: already in the bot (来源 filled): "
            + ", ".join(str(r) for r in sheet.skipped)
        )
    if duplicates:
        print(
            f"{_count(len(duplicates), 'row')} skipped: the same past record is already stored: "
            + ", ".join(str(r) for r in duplicates)
        )
    if not args.yes:
        print("nothing stored: run again with --yes to store the rows to store")
        return 0
    print(f"{_count(stored, 'past record')} stored (补录)")
    return 0


def _common_options(*, top: bool) -> argparse.ArgumentParser:
    """--config and --log-level, accepted before the subcommand (`top`) and after it.

    After the subcommand their default is SUPPRESS, so that an option given before the
    subcommand is not overwritten by the subcommand's default.
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        default=None if top else argparse.SUPPRESS,
        help="config file (default: ./config.toml if present, else built-in defaults); "
        "a relative SQLite path in it counts from the file's folder",
    )
    common.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default="INFO" if top else argparse.SUPPRESS,
        help="log level (default INFO)",
    )
    return common


def parser() -> argparse.ArgumentParser:
    """Build the argument parser of `taskbot`."""
    p = argparse.ArgumentParser(
        prog="taskbot",
        parents=[_common_options(top=True)],
        epilog="Exit status: 0 success, 1 a problem the message explains, 2 usage, 141 output "
        "closed early (e.g. by head). `taskbot COMMAND --help` describes each command.",
    )
    common = _common_options(top=False)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: object, summary: str, description: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, parents=[common], help=summary, description=description)
        cmd.set_defaults(func=func)
        return cmd

    command(
        "run",
        cmd_run,
        "run the bot (long polling)",
        "Run the bot with long polling until interrupted (Ctrl-C or SIGTERM). The first run "
        "creates the database schema and loads the task file. Configuration problems stop it "
        "(see check-config); warnings are logged and it starts anyway.",
    )
    command(
        "init",
        cmd_init,
        "create/upgrade the database and load the task file",
        "Create or upgrade the database schema and load the task file, then print how many "
        "tasks and lead units the database holds. Safe to repeat, e.g. after editing the task "
        "file: status reports are kept.",
    )
    tasks = command(
        "tasks",
        cmd_tasks,
        "print the tasks",
        "Print the tasks as the database holds them (the task file is loaded first): number, "
        "text, lead units (牵头单位), responsible units (责任单位) and deadline.",
    )
    tasks.add_argument(
        "--json",
        action="store_true",
        help="print a JSON array of {number, text, lead_units, responsible_units, deadline}",
    )
    tasks.add_argument(
        "--plan", default=None, metavar="NAME", help="the plan's 简称 or 文号 (default: newest)"
    )
    digest = command(
        "digest",
        cmd_digest,
        "render the digest to stdout (no Telegram)",
        "Render the digest of the current state from the database to stdout, as the "
        "committee group would read it now. Nothing is sent to Telegram.",
    )
    digest.add_argument("--print", action="store_true", dest="print_", help="print it (default)")
    digest.add_argument("--html", action="store_true", help="print the Telegram HTML source")
    schedule = command(
        "schedule",
        cmd_schedule,
        "list the messages due in a date range as they will be sent (sends nothing)",
        "Print, without sending anything, every message the bot would send on its own "
        "between two local dates, following the official working-day calendar: per contact "
        "and day one message with its tasks, the coordinators' escalation message of the day "
        "grouped by unit, and the weekly digest; reminders of units without a contact are "
        "listed as not sent. While the follow-up is held (or will be as soon as the bot "
        "starts, as check-config warns), without the overdue reminders, escalations and "
        "digests it holds.",
    )
    schedule.add_argument(
        "--from",
        dest="start",
        type=_date_arg,
        default=None,
        metavar="DATE",
        help="first local date, e.g. 2026-10-08 (default: today)",
    )
    schedule.add_argument(
        "--to",
        dest="end",
        type=_date_arg,
        default=None,
        metavar="DATE",
        help="last local date, inclusive (default: 6 days after --from)",
    )
    schedule.add_argument("--json", action="store_true", help="print a JSON array")
    export = command(
        "export",
        cmd_export,
        "write the ledger (台账) to an .xlsx file",
        "Write the ledger workbook: one row per task and lead unit with the latest status, "
        "every report, and the audit trail. The same file /export sends in chat.",
    )
    export.add_argument(
        "file",
        type=Path,
        nargs="?",
        default=None,
        help="output file (default: 残工委重点任务台账-YYYYMMDD.xlsx here)",
    )
    export.add_argument(
        "--with-files",
        type=Path,
        default=None,
        metavar="FILE.zip",
        help="write the 材料汇编 instead: the ledger and every evidence file in folders by "
        "task and unit, split into FILE-1.zip, FILE-2.zip, ... when over 50 MB",
    )
    deadline = command(
        "deadline",
        cmd_deadline,
        "change the deadline of tasks (preview; --yes stores)",
        "Set a new deadline on a range of tasks: RANGE is a task number, a list and ranges "
        "such as 1-10,12, a lead unit's name (its tasks) or 全部 (every task); DATE is "
        "2027-06-30, 2027/6/30, 2027.6.30, 2027年6月30日 or 6月30日 (the next such day) and "
        "not in the past. Prints what would change; with --yes stores it (audited, the "
        "original deadline kept) and queues one notice per contact of the lead units "
        "concerned, which the running bot sends on its next tick.",
    )
    deadline.add_argument("range", metavar="RANGE", help="1-10,12 | a unit's name | 全部")
    deadline.add_argument("date", metavar="DATE", help="the new deadline, e.g. 2027-06-30")
    deadline.add_argument("--reason", default=None, help="why (kept in the audit trail)")
    deadline.add_argument("--yes", action="store_true", help="store the change")
    deadline.add_argument(
        "--plan", default=None, metavar="NAME", help="the plan's 简称 or 文号 (default: newest)"
    )
    milestone = command(
        "milestone",
        cmd_milestone,
        "add a yearly milestone (年度目标) to a task, or list its milestones",
        "Add a yearly milestone to task NUMBER: due by DATE (2027-12-31, 2027年12月31日 ...; "
        "before the task's deadline) with TEXT, audited; reminders and lights follow the next "
        "open milestone as well as the deadline, and a lead unit's report can close it "
        "(完成年度目标). Without DATE and TEXT, lists the task's milestones.",
    )
    milestone.add_argument("number", type=int, metavar="NUMBER", help="the task's 序号")
    milestone.add_argument("date", nargs="?", default=None, metavar="DATE", help="due date")
    milestone.add_argument("text", nargs="*", metavar="TEXT", help="what is due")
    milestone.add_argument(
        "--plan", default=None, metavar="NAME", help="the plan's 简称 or 文号 (default: newest)"
    )
    invites = command(
        "invites",
        cmd_invites,
        "invite every lead unit without a contact: a printable .docx of links and QR codes",
        "Create a one-time invite for every lead unit that has no contact yet and write a "
        "Word document with each unit's t.me link and its QR code, to print and hand out at "
        "a meeting (the same invites as /invite 全部 in chat). The bot's username comes "
        "from --bot-username, or is asked of Telegram with the configured token.",
    )
    invites.add_argument("--out", type=Path, required=True, metavar="FILE.docx")
    invites.add_argument("--bot-username", default=None, help="the bot's @username")
    backup = command(
        "backup",
        cmd_backup,
        "copy the SQLite database consistently (bot may run)",
        "Write a consistent copy of the SQLite database to a new file, safe while the bot "
        "runs (SQLite's online backup). An existing file is never overwritten. For "
        "PostgreSQL use pg_dump.",
    )
    backup.add_argument("file", type=Path, help="the new file to write")
    restore = command(
        "restore",
        cmd_restore,
        "put a backup back: the SQLite database and its evidence files",
        "Copy a backup written by `taskbot backup` to the configured SQLite database file "
        "(only where there is none: stop the bot and move the old file away first) and put "
        "the evidence files of FILE.evidence.zip back into the evidence folder.",
    )
    restore.add_argument("file", type=Path, help="the backup file")
    prune = command(
        "prune-evidence",
        cmd_prune_evidence,
        "delete evidence files past evidence.retention_days (plan period ended)",
        "Once the plan's period has ended, delete the stored evidence files older than "
        "[evidence] retention_days (0, the default, keeps them for ever). Each deletion is "
        "in the audit trail; the rows stay in the ledger. Without --yes, only counts them.",
    )
    prune.add_argument("--yes", action="store_true", help="delete them")
    command(
        "check-config",
        cmd_check_config,
        "validate the configuration",
        "Read the configuration (and TELEGRAM_BOT_TOKEN and DATABASE_URL from the "
        "environment) and list every problem and every warning at once. Exit status 1 if "
        "there is a problem; warnings alone (no coordinator yet, no committee group) exit 0.",
    )
    demo = command(
        "demo",
        cmd_demo,
        "play a scripted scenario against a local Bot API stand-in",
        "Play a scripted scenario: the real bot against a local Bot API stand-in, on the 30 "
        "seed tasks and a temporary SQLite database; print the chat and the digest. Nothing "
        "talks to Telegram's servers.",
    )
    demo.add_argument("--verbose", action="store_true", help="also show the bot's log")
    indicators = command(
        "indicators",
        cmd_indicators,
        "list a plan's main indicators (主要指标); set a value or the owner unit",
        "List a plan's main indicators (主要指标, 专栏1) with their targets, values by year "
        "and a light: met, not_met, no_value (no value for the last full year) or judgement "
        "(a text target). `indicators set NUMBER YEAR VALUE --source TEXT` records a value "
        "(audited; a later value for a year supersedes the earlier one); `indicators owner "
        "NUMBER UNIT` sets the unit that reports it (- clears it).",
    )
    indicators.add_argument(
        "--json",
        action="store_true",
        help="print a JSON array of {number, name, measure, target, attribute, kind, values "
        "[{year, value, source}], light, owner}",
    )
    indicators.add_argument(
        "--plan", default=None, metavar="NAME", help="the plan's 简称 or 文号 (default: newest)"
    )
    indicators_sub = indicators.add_subparsers(dest="indicators_command", metavar="SUBCOMMAND")
    indicator_set = indicators_sub.add_parser(
        "set", parents=[common], help="record an indicator's value for a year, with its source"
    )
    indicator_set.add_argument("number", type=int, metavar="NUMBER", help="the indicator's 序号")
    indicator_set.add_argument("year", type=int, metavar="YEAR", help="the year, e.g. 2025")
    indicator_set.add_argument("value", metavar="VALUE", help="the value, e.g. 96.5 or 96.5%%")
    indicator_set.add_argument("--source", required=True, help="where the value comes from")
    indicator_set.add_argument(
        "--plan", default=None, metavar="NAME", help="the plan's 简称 or 文号 (default: newest)"
    )
    indicator_owner = indicators_sub.add_parser(
        "owner", parents=[common], help="set the unit that owns an indicator (- clears it)"
    )
    indicator_owner.add_argument("number", type=int, metavar="NUMBER", help="the indicator's 序号")
    indicator_owner.add_argument("unit", metavar="UNIT", help="the unit's name, or - for none")
    indicator_owner.add_argument(
        "--plan", default=None, metavar="NAME", help="the plan's 简称 or 文号 (default: newest)"
    )
    plan = sub.add_parser(
        "plan",
        help="list, load and import plans (规划, 年度工作要点)",
        description="Work with plans: `plan list`, `plan load TASKFILE`, `plan import FILE`, "
        "`plan close NAME`, `plan reopen NAME`, `plan rhythm NAME RHYTHM`.",
    )
    plan_sub = plan.add_subparsers(dest="plan_command", required=True, metavar="SUBCOMMAND")
    plan_import = plan_sub.add_parser(
        "import",
        parents=[common],
        help="read the 重点任务分工 table of a document into a task file for review",
        description="Read the task-division table (序号, 工作任务, 牵头单位, 责任单位 in any "
        "order) of a .docx, .xlsx, .pdf with a text layer, or text extracted from a PDF (.txt); "
        "write a task file in the format of db/data/plan.toml for review (its [plan] "
        "placeholders to fill in) and print the verification report: rows placed, section "
        "rows skipped, unit names known or new (with the closest known names), rows not "
        "placed. Changes nothing in the database. A .doc, .wps or .ofd file: save it as .docx "
        "first.",
    )
    plan_import.set_defaults(func=cmd_plan_import)
    plan_import.add_argument("file", type=Path, metavar="FILE", help="the document")
    plan_import.add_argument(
        "--json",
        action="store_true",
        help="print the tasks as a JSON array of {number, text, lead_units, "
        "responsible_units, deadline} instead (deadline null when the document gives none)",
    )
    plan_import.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="TASKFILE",
        help="the task file to write (default: FILE with the suffix .tasks.toml)",
    )
    plan_import.add_argument("--force", action="store_true", help="overwrite TASKFILE")
    plan_list = plan_sub.add_parser(
        "list",
        parents=[common],
        help="list the plans",
        description="List the plans the database holds: 简称, 文号, period, status, tasks.",
    )
    plan_list.set_defaults(func=cmd_plan_list)
    plan_load = plan_sub.add_parser(
        "load",
        parents=[common],
        help="load a reviewed task file as a plan",
        description="Load a reviewed task file (the format of db/data/plan.toml, e.g. one "
        "written by `plan import` and filled in) as a new plan beside the others, or, when a "
        "plan has its 文号 (document_number), update that plan: texts, units and deadlines; "
        "reports are kept, deadlines a coordinator changed are left alone. Safe to repeat.",
    )
    plan_load.set_defaults(func=cmd_plan_load)
    plan_backfill = plan_sub.add_parser(
        "backfill",
        parents=[common],
        help="enter past records (补录) from an .xlsx in the ledger's 反馈记录 layout",
        description="Read past records from an .xlsx whose sheet 反馈记录 (else its first "
        "sheet) has the ledger's headers: 反馈时间 (the date it happened), 序号, 单位, 状态 "
        "(推进中, 已完成, 遇到困难 or 仅说明), 说明, and optionally 计划 (the plan's 简称, 文号 "
        "or title; empty: --plan, else the newest active plan). Export the ledger, add rows "
        "with 来源 left empty (rows with 来源 are the bot's own and are skipped), and load it. "
        "Prints the rows to store and the rows refused with their reasons; stores the good "
        "rows, in one transaction, only with --yes. Past records never trigger reminders.",
    )
    plan_backfill.set_defaults(func=cmd_plan_backfill)
    plan_backfill.add_argument("file", type=Path, metavar="FILE", help="the .xlsx file")
    plan_backfill.add_argument(
        "--plan", default=None, metavar="NAME", help="the plan of rows without 计划 (简称 or 文号)"
    )
    plan_backfill.add_argument("--yes", action="store_true", help="store the good rows")
    plan_load.add_argument("file", type=Path, metavar="TASKFILE", help="the task file")
    plan_evaluate = plan_sub.add_parser(
        "evaluate",
        parents=[common],
        help="write a plan's 总结评估 draft (.docx)",
        description="Write the 总结评估 draft of a plan (its 中期评估 when --as-of is before "
        "the plan's last day) as a Word document in 公文 layout: 一、总体完成情况 (tasks by "
        "final status, 办结率, 按时办结率 against the original and the adjusted deadlines, "
        "lead units that never reported), 二、分项完成情况 (per task: lead units' final "
        "status, dated reports including 补录, evidence, deadline changes), and 三 to 五 as "
        "marked placeholders for the coordinator. Every figure comes from the database; "
        "nothing is changed or sent. The same file /evaluate sends in chat.",
    )
    plan_evaluate.set_defaults(func=cmd_plan_evaluate)
    plan_evaluate.add_argument("file", type=Path, metavar="FILE.docx", help="the file to write")
    plan_evaluate.add_argument(
        "--plan",
        default=None,
        metavar="NAME",
        help="the plan's 简称 or 文号 (default: the newest active plan)",
    )
    plan_evaluate.add_argument(
        "--as-of",
        type=_date_arg,
        default=None,
        metavar="DATE",
        help="count reports up to this date, e.g. 2025-12-31 (default: today)",
    )
    plan_close = plan_sub.add_parser(
        "close",
        parents=[common],
        help="close a plan, optionally carrying its unfinished tasks over (preview; --yes stores)",
        description="Close the plan NAME (its 简称 or 文号): its reminders, nudges, "
        "escalations and digest section stop; its tasks, reports and files stay readable "
        "(/task, the ledger). With --carry-into NAME2 --deadline DATE each unfinished task "
        "(not every lead unit 已完成) becomes a new task of NAME2, numbered after its highest "
        "number, with the same text and units, the deadline DATE and a link to the old task "
        "(结转). Prints the tasks by final state and what would be carried; with --yes stores "
        "it (audited).",
    )
    plan_close.set_defaults(func=cmd_plan_close)
    plan_close.add_argument("name", metavar="NAME", help="the plan to close (简称 or 文号)")
    plan_close.add_argument(
        "--carry-into",
        metavar="NAME2",
        default=None,
        help="the plan to carry the tasks into",
    )
    plan_close.add_argument(
        "--deadline",
        type=_date_arg,
        default=None,
        metavar="DATE",
        help="the deadline of the carried tasks (YYYY-MM-DD); required with --carry-into",
    )
    plan_close.add_argument("--yes", action="store_true", help="store it")
    plan_reopen = plan_sub.add_parser(
        "reopen",
        parents=[common],
        help="reopen a closed plan (preview; --yes stores)",
        description="Reopen the closed plan NAME: it is followed up again (audited). Tasks "
        "carried over stay where they were carried.",
    )
    plan_reopen.set_defaults(func=cmd_plan_reopen)
    plan_reopen.add_argument("name", metavar="NAME", help="the plan to reopen (简称 or 文号)")
    plan_reopen.add_argument("--yes", action="store_true", help="store it")
    plan_rhythm = plan_sub.add_parser(
        "rhythm",
        parents=[common],
        help="set a plan's reporting rhythm (报送频次: monthly, quarterly, half_yearly)",
        description="Set the reporting rhythm of the plan NAME (its 简称 or 文号): monthly, "
        "quarterly (periods from Jan/Apr/Jul/Oct) or half_yearly (Jan/Jul), each period "
        "starting on --day (1-28; default follow_up.cycle_day). Lights, nudges and the "
        "digest's 未反馈 follow it. `default` goes back to the configured monthly cycle. "
        "Audited.",
    )
    plan_rhythm.set_defaults(func=cmd_plan_rhythm)
    plan_rhythm.add_argument("name", metavar="NAME", help="the plan (简称 or 文号)")
    plan_rhythm.add_argument(
        "rhythm", metavar="RHYTHM", help="monthly, quarterly, half_yearly or default"
    )
    plan_rhythm.add_argument("--day", type=int, default=None, metavar="DAY", help="1-28")
    unit = sub.add_parser(
        "unit",
        help="rename a unit or merge it into another (机构改革), the old names kept as aliases",
        description="Units renamed or merged by an institutional reform (机构改革): "
        "`unit rename OLD NEW` and `unit merge UNIT INTO`.",
    )
    unit_sub = unit.add_subparsers(dest="unit_command", required=True, metavar="SUBCOMMAND")
    rename = unit_sub.add_parser(
        "rename",
        parents=[common],
        help="give a unit its new name; the old one stays an alias (preview; --yes stores)",
        description="Give the unit OLD (its name, a former name, or a name as typed in chat) "
        "the name NEW. Its tasks, contacts and reports stay with it; OLD becomes an alias that "
        "task files, imports and commands still recognise. Prints what would change; with "
        "--yes stores it (audited).",
    )
    rename.set_defaults(func=cmd_unit_change)
    rename.add_argument("unit", metavar="OLD", help="the unit's current name")
    rename.add_argument("target", metavar="NEW", help="its new name (at most 100 characters)")
    rename.add_argument("--yes", action="store_true", help="store the change")
    merge = unit_sub.add_parser(
        "merge",
        parents=[common],
        help="merge a unit into another; its name stays an alias (preview; --yes stores)",
        description="Merge the unit UNIT into the unit INTO: UNIT's tasks, contacts, invites, "
        "reports, evidence and extension requests move to INTO, and UNIT's name and aliases "
        "become INTO's aliases. Refused for collective units (各镇街) and for two units named "
        "on the same task (edit the task file first, so that it names one of them there). "
        "Prints what would change; with --yes stores it (audited).",
    )
    merge.set_defaults(func=cmd_unit_change)
    merge.add_argument("unit", metavar="UNIT", help="the unit that goes")
    merge.add_argument("target", metavar="INTO", help="the unit it is merged into")
    merge.add_argument("--yes", action="store_true", help="store the merge")
    for name, summary, description in (
        (
            "notice",
            "write the 督办通知单 of one unit (.docx)",
            "Write the 督办通知单 of UNIT (its name, an alias or part of its name) as a Word "
            "document from the notice template ([documents] templates_dir, else the shipped "
            "one): its open tasks of active plans, each row shaded by its light (red, yellow, "
            "green; none white), with deadline, days left or overdue and the unit's last "
            "report, and the 请于…前反馈 line. The same file /notice sends in chat.",
        ),
        (
            "bulletin",
            "write the 督查通报 (.docx)",
            "Write the 督查通报 as a Word document from the bulletin template: per active "
            "plan (or --plan) the lights' counts, 办结率, red and yellow tasks and the units "
            "that have not reported in the cycle, over the digest's period (since the last "
            "weekly digest). The same file /bulletin sends in chat.",
        ),
    ):
        document = sub.add_parser(name, parents=[common], help=summary, description=description)
        document.set_defaults(func=cmd_notice if name == "notice" else cmd_bulletin)
        if name == "notice":
            document.add_argument("unit", metavar="UNIT", help="the unit's name")
        document.add_argument("file", type=Path, metavar="FILE.docx", help="the file to write")
        document.add_argument(
            "--plan",
            default=None,
            metavar="NAME",
            help="only this plan (简称 or 文号; default: every active plan)",
        )
        document.add_argument(
            "--number", default="", metavar="TEXT", help="a 文号 line, e.g. 督办〔2026〕3号"
        )
    stats = command(
        "stats",
        cmd_stats,
        "print the follow-up statistics (办结率, 按时办结率, 超期办结)",
        "Print, per plan (every plan, or --plan), the statistics as of today (or --as-of): "
        "over tasks and over (task, lead unit) pairs, then per lead unit by done rate "
        "ascending: accepted (办结率), on time against the deadline in force (approved "
        "extensions count, bulk moves do not) and the original deadline (按时办结率), 超期办结, "
        "open overdue, returns, reports per reporting cycle, reminders, average working days "
        "from a reminder to the next report, reminders per report. Nothing is changed or sent.",
    )
    stats.add_argument(
        "--plan", default=None, metavar="NAME", help="the plan's 简称 or 文号 (default: every plan)"
    )
    stats.add_argument(
        "--json",
        action="store_true",
        help='print {"as_of", "plans": [{"plan", "as_of", "overall": {"pairs", "tasks"}, '
        '"units": [...]}]}; rates are fractions (4 places) or null',
    )
    stats.add_argument(
        "--as-of",
        type=_date_arg,
        default=None,
        metavar="DATE",
        help="count up to this date, e.g. 2025-12-31 (default: today)",
    )
    channels = sub.add_parser(
        "channels",
        help="check the DingTalk / WeCom group robots the digest is also posted to",
        description="The group robots of [dingtalk] and [wecom] that get the weekly digest "
        "besides Telegram: `channels test` posts a test message to each.",
    )
    channels_sub = channels.add_subparsers(
        dest="channels_command", required=True, metavar="SUBCOMMAND"
    )
    channels_test = channels_sub.add_parser(
        "test",
        parents=[common],
        help="post a test message to each configured group robot",
        description="Post a short test message to the DingTalk and WeCom group robots "
        "configured (dingtalk.webhook, wecom.webhook), so a deployment can check the "
        "addresses, the signing secret and the network path (HTTPS_PROXY/NO_PROXY; "
        "telegram.proxy is not used). Exit 1 when none is configured or one is not posted.",
    )
    channels_test.set_defaults(func=cmd_channels_test)
    p.description = f"The 残工委 task follow-up bot: {', '.join(sub.choices)}."
    return p


def _stats_line(name: str, figures: dict[str, int | float | None]) -> str:
    """One line of `taskbot stats` (text): a group's counts and rates (English)."""
    from jobs.evaluation import Rate

    total = int(figures["total"] or 0)

    def pct(key: str) -> str:
        return Rate(int(figures[key] or 0), total).percent

    days = figures.get("avg_working_days_reminder_to_report")
    per_cycle = figures.get("reports_per_cycle")
    line = (
        f"{name}: {figures['accepted']}/{total} accepted ({pct('accepted')}), "
        f"on time {figures['on_time']} ({pct('on_time')}; original deadline "
        f"{pct('on_time_original')}), 超期办结 {figures['overdue_done']}, "
        f"open overdue {figures['open_overdue']}, returns {figures['returns']}"
    )
    if "reports" in figures:
        line += (
            f"; reports/cycle {'-' if per_cycle is None else per_cycle}, reminders "
            f"{figures['reminders']}, days reminder->report {'-' if days is None else days}, "
            f"reminders/report {figures['reminders_before_report'] or 0}"
        )
    return line


def cmd_stats(args: argparse.Namespace) -> int:
    """Print the follow-up statistics (办结率, 按时办结率, 超期办结, reporting) of one plan
    (--plan) or of every plan, as text or JSON."""
    from bot.app import make_calendar
    from db import repo
    from jobs.stats import stats_json

    settings = _settings(args)
    zone = settings.schedule.zone
    today = _now().astimezone(zone).date()
    as_of: date = args.as_of or today
    if as_of > today:
        print(f"--as-of {as_of} is in the future (today is {today})", file=sys.stderr)
        return 2
    calendar = make_calendar(settings)
    database = _open_to_read(settings)
    results: list[dict[str, object]] = []
    try:
        with database.session() as s:
            if args.plan:
                plan_id = _plan_id(s, args.plan)
                if plan_id is None:
                    return 1
                ids = [plan_id]
            else:
                ids = [p.id for p in repo.read_plans(s)]
            for plan_id in ids:
                plan, stats = repo.plan_statistics(
                    s,
                    plan_id=plan_id,
                    zone=zone,
                    default_day=settings.follow_up.cycle_day,
                    as_of=as_of,
                    calendar=calendar,
                )
                results.append(stats_json(plan.label, stats))
    finally:
        database.dispose()
    if args.json:
        print(
            json.dumps({"as_of": as_of.isoformat(), "plans": results}, ensure_ascii=False, indent=2)
        )
        return 0
    if not results:
        print("no plan loaded")
    for result in results:
        overall = result["overall"]
        units = result["units"]
        assert isinstance(overall, dict) and isinstance(units, list)
        print(f"{result['plan']} as of {as_of}")
        print("  " + _stats_line("tasks", overall["tasks"]))
        print("  " + _stats_line("task x lead unit", overall["pairs"]))
        for unit in units:
            print("    " + _stats_line(str(unit["unit"]), unit))
    return 0


def _discard_stdout() -> None:
    """After the reader of stdout went away: send what is left to /dev/null, so that the
    flush at exit does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (e.g. captured in tests)
        pass


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `taskbot` console script; returns the exit code."""
    args = parser().parse_args(argv)
    if args.command != "run":
        setup_logging("WARNING" if args.log_level == "INFO" else args.log_level)
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # inside the try: a closed pipe is reported here, not at exit
        return code
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except ConfigError as exc:
        print(_source(_config_path(args)), file=sys.stderr)
        print(f"{_count(len(exc.problems), 'problem')} in the configuration:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    except TaskFileError as exc:
        print(f"task file problem: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        from db.engine import describe_error

        print(f"database problem: {describe_error(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
