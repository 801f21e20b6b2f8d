"""Run the real bot in its own process, for the crash-and-restart tests.

Usage: ``python tests/bot_process.py <settings-json-file>``, where the JSON file holds::

    {"clock": "2025-12-17T01:30:00+00:00",   # the fixed instant the bot lives at (aware ISO)
     "log_level": "INFO",                     # optional
     "settings": {...}}                       # validated by bot.config.Settings.model_validate

The application is built by `bot.app.build_application` and run by `Application.run_polling`,
exactly as `taskbot run` does (post_init, the JobQueue tick, signal handling), so the test can
SIGKILL it at any moment. The log goes to stderr. Exits 1 with a one-line "cannot start: ..."
message when another instance holds the database (`db.lock.AlreadyRunning`), like `taskbot run`.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable from a checkout
    sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402

from bot.app import build_application  # noqa: E402
from bot.config import Settings  # noqa: E402
from db.lock import AlreadyRunning  # noqa: E402


class FixedClock:
    """A clock that always returns the same aware instant."""

    def __init__(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("the clock instant must be timezone-aware")
        self.instant = instant

    def __call__(self) -> datetime:
        return self.instant


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python tests/bot_process.py <settings-json-file>", file=sys.stderr)
        return 2
    raw = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    logging.basicConfig(
        stream=sys.stderr,
        level=raw.get("log_level", "INFO"),
        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = Settings.model_validate(raw["settings"])
    clock = FixedClock(datetime.fromisoformat(raw["clock"]))
    app = build_application(settings, clock=clock)
    logging.getLogger("bot_process").info("starting; clock fixed at %s", clock.instant)
    try:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    except AlreadyRunning as exc:
        print(f"cannot start: {exc}; stop it first (one bot per database)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
