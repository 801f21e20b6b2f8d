"""The `taskbot` command line: run, init, tasks, digest, check-config, demo.

Exit codes: 0 success, 1 a problem the message explains (bad config, bad task file), 2 usage.
Output for operators is English; the Chinese chat texts live in `bot/texts.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import logging
import re
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.config import ConfigError, Settings, check_settings, load_settings
from db.lock import AlreadyRunning
from db.seed import TaskFileError

log = logging.getLogger("taskbot")
DEFAULT_CONFIG = Path("config.toml")


class RedactingFilter(logging.Filter):
    """Replace the bot token in every log record by "<token>" (it is a secret)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secret:
            message = record.getMessage()
            if self.secret in message:
                record.msg = message.replace(self.secret, "<token>")
                record.args = None
        return True


def setup_logging(level: str, secret: str = "") -> None:
    """Log to stderr at `level`; keep httpx quiet (it would log URLs, which hold the token)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secret))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _settings(args: argparse.Namespace) -> Settings:
    path: Path | None = args.config
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    return load_settings(path)


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate the config; list every problem; non-zero exit when there is any."""
    try:
        settings = _settings(args)
    except ConfigError as exc:
        problems = exc.problems
    else:
        problems = check_settings(settings)
    if problems:
        print(f"{len(problems)} problem(s) in the configuration:")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("configuration OK")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    """Create or upgrade the schema and load the task file."""
    from bot.app import prepare_database

    settings = _settings(args)
    database = prepare_database(settings)
    with database.session() as s:
        from db.repo import lead_units

        leads = len(lead_units(s))
    database.dispose()
    print(f"database ready at {_safe_url(database.url)}; {leads} lead units")
    return 0


def _safe_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def cmd_tasks(args: argparse.Namespace) -> int:
    """Print the tasks from the database (loaded from the task file) as a table or JSON."""
    from sqlmodel import col, select

    from bot.app import prepare_database
    from db.models import AssignmentRole, Task
    from db.repo import unit_names_of_task
    from db.seed import TaskRecord

    settings = _settings(args)
    database = prepare_database(settings)
    records: list[TaskRecord] = []
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
                        unit_names_of_task(s, task_id=task.id or 0, role=AssignmentRole.RESPONSIBLE)
                    ),
                    deadline=task.deadline,
                    responsible_units_note=task.responsible_units_note,
                )
            )
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
    from bot.app import make_services, prepare_database
    from bot.context import system_clock
    from bot.delivery import build_current_digest
    from jobs.calendar import WeekdayCalendar

    settings = _settings(args)
    database = prepare_database(settings)
    services = make_services(settings, database, clock=system_clock, calendar=WeekdayCalendar())
    parts = build_current_digest(services)
    database.dispose()
    for i, part in enumerate(parts):
        if i:
            print("\n" + "-" * 40 + "\n")
        print(part if args.html else html_to_text(part))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """Write a consistent copy of the SQLite database (safe while the bot runs)."""
    from db.engine import Database

    settings = _settings(args)
    database = Database(settings.database.url)
    try:
        database.backup(args.file)
    except (ValueError, FileExistsError) as exc:
        print(f"backup not written: {exc}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    print(f"backup written to {args.file}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the bot with long polling until interrupted."""
    from telegram import Update

    from bot.app import build_application

    settings = _settings(args)
    setup_logging(args.log_level, settings.token)
    problems = check_settings(settings)
    if problems:
        print("cannot start; fix the configuration first:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    app = build_application(settings)
    try:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    except AlreadyRunning as exc:
        print(f"cannot start: {exc}; stop it first (one bot per database)", file=sys.stderr)
        return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the scripted demo against the local Bot API stand-in and print the chat."""
    from bot.demo import run_demo

    print(asyncio.run(run_demo(verbose=args.verbose)))
    return 0


def parser() -> argparse.ArgumentParser:
    """Build the argument parser of `taskbot`."""
    p = argparse.ArgumentParser(prog="taskbot", description=__doc__.splitlines()[0])
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config file (default: ./config.toml if present, else built-in defaults)",
    )
    p.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level (default INFO)",
    )
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot (long polling)").set_defaults(func=cmd_run)
    sub.add_parser("init", help="create/upgrade the database and load the task file").set_defaults(
        func=cmd_init
    )
    tasks = sub.add_parser("tasks", help="print the tasks")
    tasks.add_argument("--json", action="store_true", help="print a JSON array")
    tasks.set_defaults(func=cmd_tasks)
    digest = sub.add_parser("digest", help="render the digest to stdout (no Telegram)")
    digest.add_argument("--print", action="store_true", dest="print_", help="print it (default)")
    digest.add_argument("--html", action="store_true", help="print the Telegram HTML source")
    digest.set_defaults(func=cmd_digest)
    backup = sub.add_parser("backup", help="copy the SQLite database consistently (bot may run)")
    backup.add_argument("file", type=Path, help="the new file to write")
    backup.set_defaults(func=cmd_backup)
    sub.add_parser("check-config", help="validate the configuration").set_defaults(
        func=cmd_check_config
    )
    demo = sub.add_parser("demo", help="play a scripted scenario against a local Bot API stand-in")
    demo.add_argument("--verbose", action="store_true", help="also show the bot's log")
    demo.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `taskbot` console script; returns the exit code."""
    args = parser().parse_args(argv)
    if args.command != "run":
        setup_logging("WARNING" if args.log_level == "INFO" else args.log_level)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print("configuration problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    except TaskFileError as exc:
        print(f"task file problem: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"database problem: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
