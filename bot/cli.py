"""The `taskbot` command line: run, init, tasks, digest, backup, check-config, demo.

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
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from bot.config import (
    ConfigError,
    Settings,
    TelegramSettings,
    load_settings,
    review_config,
)
from bot.redact import RedactingFilter, redact
from db.lock import AlreadyRunning
from db.seed import TaskFileError

if TYPE_CHECKING:
    from db.engine import Database

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


def setup_logging(level: str, secret: str = "") -> None:
    """Log to stderr at `level`; keep httpx quiet (it would log URLs, which hold the token)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secret))
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
    for noun, lines in (("problem", problems), ("warning", review.warnings)):
        if lines:
            print(f"{_count(len(lines), noun)}:")
            for line in lines:
                print(f"  - {line}")
    if problems:
        return 1
    if review.warnings:
        print(f"configuration OK, with {_count(len(review.warnings), 'warning')}")
    else:
        print("configuration OK")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    """Create or upgrade the schema and load the task file."""
    from sqlmodel import func, select

    from bot.app import prepare_database
    from db.models import Task
    from db.repo import lead_units

    settings = _settings(args)
    database = prepare_database(settings)
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
            for task in s.exec(select(Task).order_by(col(Task.number))):
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
    from bot.delivery import build_current_digest

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


def _open_to_read(settings: Settings) -> Database:
    """`prepare_database` for a command that only reads (tasks, digest, schedule, export).

    When the SQLite file did not exist (the command was run outside the bot's folder without
    `--config`), says so on stderr: the database just made holds the task file's tasks and
    no report, which would otherwise look like a real, quiet follow-up.
    """
    from bot.app import prepare_database

    path = _sqlite_file(settings.database.url)
    fresh = path is not None and not path.exists()
    database = prepare_database(settings)
    if fresh:
        print(
            f"note: {path} did not exist; it was created with the tasks of the task file and "
            "no reports. To read the bot's own database, pass --config (or run from the "
            "folder of its config.toml).",
            file=sys.stderr,
        )
    return database


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


MAX_SCHEDULE_DAYS = 366


def _date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date like 2026-10-08: {text!r}") from None


def cmd_schedule(args: argparse.Namespace) -> int:
    """Print every reminder and digest due in a date range; nothing is sent."""
    from bot.app import make_calendar, make_services
    from bot.context import system_clock
    from bot.schedule_view import render_schedule
    from db import repo
    from jobs.schedule import preview

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
        state = repo.load_state(s)
    database.dispose()
    digest = services.digest_schedule if settings.telegram.digest_chat_id is not None else None
    planned = preview(start, end, state, services.policy, digest, calendar)
    print(render_schedule(planned, json=args.json))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the ledger (台账) workbook to an .xlsx file; nothing is sent."""
    from bot import texts
    from bot.app import make_calendar, make_services
    from bot.context import system_clock
    from bot.delivery import ledger_light_of
    from office.ledger import ledger_filename, write_ledger

    settings = _settings(args)
    zone, now = settings.schedule.zone, system_clock()
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
                s, path, zone=zone, now=now, status_labels=texts.STATUS_LABEL, light_of=light_of
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


def cmd_backup(args: argparse.Namespace) -> int:
    """Write a consistent copy of the SQLite database (safe while the bot runs)."""
    from db.engine import Database

    settings = _settings(args)
    source = _sqlite_file(settings.database.url)
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
    setup_logging(args.log_level, settings.token)
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
        "list the reminders and digests due in a date range (sends nothing)",
        "Print, without sending anything, every reminder and weekly digest the bot would send "
        "between two local dates, following the official working-day calendar: date, time, "
        "kind, task, unit and how many contacts would get it.",
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
    backup = command(
        "backup",
        cmd_backup,
        "copy the SQLite database consistently (bot may run)",
        "Write a consistent copy of the SQLite database to a new file, safe while the bot "
        "runs (SQLite's online backup). An existing file is never overwritten. For "
        "PostgreSQL use pg_dump.",
    )
    backup.add_argument("file", type=Path, help="the new file to write")
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
    p.description = f"The 残工委 task follow-up bot: {', '.join(sub.choices)}."
    return p


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
