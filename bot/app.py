"""Application factory: wiring only. Resources are made in `post_init`, closed in `post_shutdown`.

`build_application(settings)` returns a python-telegram-bot `Application` with the JobQueue
tick, the status conversation, the commands, a rate limiter (Bot API flood limits: 30 messages
per second overall, 20 per minute per group, about 1 per second per chat) and an error handler
that logs first.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from datetime import timedelta

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import (
    backfill_view,
    backlog,
    coordination_view,
    deadline_view,
    evidence,
    extension_flow,
    handlers,
    indicators_view,
    keyboards,
    milestone_view,
    notices_view,
    people,
    plan_close,
    plan_upload,
    replies,
    report_flow,
    review_view,
    rhythm_view,
    stats_view,
    tasks_view,
    texts,
    unit_change,
    webhooks,
)
from bot.config import Settings
from bot.context import BotContext, BotData, Clock, Services, UserData, system_clock
from bot.delivery import tick
from bot.ratelimit import FloodLimiter
from bot.transport import make_transports
from db import repo
from db.engine import Database
from db.lock import AlreadyRunning, InstanceLock
from db.seed import load_plan, read_task_file
from jobs.calendar import OfficialCalendar, WorkingCalendar
from jobs.lights import LightPolicy
from jobs.policy import DigestSchedule, ReminderPolicy

log = logging.getLogger(__name__)

TICK_JOB = "follow-up tick"


def prepare_database(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    lock: bool = False,
    calendar: WorkingCalendar | None = None,
    check: bool = True,
) -> Database:
    """Open the configured database, upgrade its schema, load the task file into it and,
    with `check`, check the active plans (`repo.check_plans`: a held follow-up is stored
    and logged as a warning, the console line of `taskbot run` and `taskbot init`).

    With `lock`, first take the instance lock (`db.lock.InstanceLock`, kept on
    `database.lock`), raising `db.lock.AlreadyRunning` if another instance holds it.
    Raises `db.seed.TaskFileError` for a bad task file and SQLAlchemy errors for a bad URL.
    """
    database = Database(settings.database.url)
    if lock:
        instance_lock = InstanceLock(database.engine)
        try:
            instance_lock.acquire()
        except AlreadyRunning:
            database.dispose()
            raise
        database.lock = instance_lock
    database.upgrade()
    plan = read_task_file(settings.tasks.path())
    with database.session() as s:
        summary = load_plan(s, plan, now=clock())
        towns = repo.ensure_member_units(s, members=settings.collective_units)
    if towns:
        log.info("%d member towns of collective units added", towns)
    if summary.changed:
        log.info(
            "task file loaded: %d added, %d updated, %d units added",
            summary.tasks_added,
            summary.tasks_updated,
            summary.units_added,
        )
    if not check:
        return database
    with database.session() as s:
        checks = repo.check_plans(
            s,
            now=clock(),
            calendar=calendar or make_calendar(settings),
            zone=settings.schedule.zone,
        )
        lines = [
            (
                check.hold is not None,
                backlog.console_line(
                    check.finding,
                    None
                    if check.hold is not None
                    else backlog.decided_for(s, check.finding, check.plan.id),
                    (check.plan.short_name or check.plan.document_number)
                    if len(checks) > 1
                    else None,
                ),
                check.plan.label,
            )
            for check in checks
        ]
    for held, line, label in lines:
        if line is not None:
            line = f"{label}: {line}" if len(checks) > 1 else line
            log.log(logging.WARNING if held else logging.INFO, "%s", line)
    return database


def make_calendar(
    settings: Settings, *, on_unknown_year: Callable[[int], None] | None = None
) -> OfficialCalendar:
    """The official Chinese working-day calendar (the `holidays` package) plus local
    overrides."""
    return OfficialCalendar(
        settings.calendar.extra_holidays,
        settings.calendar.extra_workdays,
        on_unknown_year=on_unknown_year,
    )


def make_services(
    settings: Settings, database: Database, *, clock: Clock, calendar: WorkingCalendar
) -> Services:
    """Build the `Services` from settings and an open database."""
    schedule = settings.schedule
    return Services(
        settings=settings,
        db=database,
        clock=clock,
        calendar=calendar,
        policy=ReminderPolicy(
            zone=schedule.zone,
            reminder_hour=schedule.reminder_hour,
            quiet_after_hour=schedule.quiet_after_hour,
            before_days=tuple(schedule.before_days),
            on_the_day=schedule.on_the_day,
            overdue_every_days=schedule.overdue_every_days,
            remind_responsible=settings.follow_up.remind_responsible_units,
            cycle_day=settings.follow_up.cycle_day,
        ),
        digest_schedule=DigestSchedule(
            zone=schedule.zone, weekday=schedule.digest_weekday, at=schedule.digest_time
        ),
        lights=LightPolicy(
            zone=schedule.zone,
            yellow_working_days=settings.follow_up.yellow_working_days,
            cycle_day=settings.follow_up.cycle_day,
        ),
    )


def quiet_secret_loggers() -> None:
    """Keep secrets and personal notes out of the log, whatever the log level.

    httpx logs every request URL at INFO, and the URL holds the bot token; PTB's Bot and
    Application log every request, answer and update in full at DEBUG, notes included.
    """
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # not a secret, but seven lines of plugin set-up at every start say nothing to an operator
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    for name in ("telegram.Bot", "telegram.ext.ExtBot", "telegram.ext.Application"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoDebug) for f in logger.filters):
            logger.addFilter(_NoDebug())


class _NoDebug(logging.Filter):
    """Drop DEBUG records (they carry whole requests and updates) and keep the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


async def error_handler(update: object, context: BotContext) -> None:
    """Log the error first, then tell a private-chat user that something went wrong.

    A network error without an update is python-telegram-bot's long poll failing to reach
    the Bot API (it retries with a growing pause): one warning line each time, without a
    traceback, so that an outage of a night does not fill the log with them.
    """
    error = context.error
    if update is None and isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        log.warning("cannot reach the Bot API to fetch updates (retrying): %s", error)
        return
    log.error("error while handling an update", exc_info=error)
    if isinstance(update, Update) and handlers.is_private(update):
        try:
            await handlers.reply(update, texts.ERROR_GENERIC)
        except Exception:
            log.warning("could not tell the user about the error")


GC_THRESHOLDS = (10_000, 10, 10)


def tune_garbage_collection() -> None:
    """Set the garbage collector's thresholds to `GC_THRESHOLDS` (process-wide).

    A state read at the province headroom (10,000 tasks) makes some 200,000 short-lived
    objects in a worker thread; at Python's default threshold (700 allocations) that meant
    about 530 collections per read, three or four of them full ones of 70-160 ms during which
    no thread runs, the event loop included (docs/benchmarks.md, figure 3). With a young
    generation of 10,000 objects the same read takes 32 collections of at most about 8 ms.
    Nothing is frozen or kept: every object stays in the collections."""
    gc.set_threshold(*GC_THRESHOLDS)


def build_application(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    calendar: WorkingCalendar | None = None,
) -> Application:
    """Wire the bot: handlers, jobs, rate limiter, typed context. Nothing is opened yet.

    `clock` returns the current instant (aware UTC); tests and the demo pass a fixed one.
    """
    unknown_years: list[int] = []  # filled by the calendar, drained by the tick
    working_calendar = calendar or make_calendar(settings, on_unknown_year=unknown_years.append)
    quiet_secret_loggers()
    tune_garbage_collection()

    async def post_init(app: Application) -> None:
        database = prepare_database(settings, clock=clock, lock=True, calendar=working_calendar)
        try:
            with database.session() as s:
                stale = repo.mark_pending_uncertain(s)
                repo.record_first_start(s, now=clock())
        except BaseException:
            database.dispose()  # releases the instance lock
            raise
        if stale:
            log.warning("%d sends were interrupted by a stop; marked uncertain, not resent", stale)
        app.bot_data.services = make_services(
            settings, database, clock=clock, calendar=working_calendar
        )
        app.bot_data.services.unknown_calendar_years = unknown_years
        # Application.stop() clears `running` first, then waits for the running tick: the
        # tick's fan-outs see it and claim nothing more, so a stop takes one send, not a
        # whole fan-out (the JobQueue starts with the application, after this)
        app.bot_data.services.stop_requested = lambda: not app.running
        try:
            await app.bot.set_my_commands(
                [BotCommand(c, d) for c, d in texts.COMMANDS + texts.COMMANDS_PEOPLE]
            )
        except TelegramError as exc:  # the menu is a convenience; never a reason not to start
            log.warning("could not set the command menu: %s", exc)
        assert app.job_queue is not None
        app.job_queue.run_repeating(
            tick,
            interval=settings.schedule.tick_seconds,
            first=1,  # 0 is moved a whole interval later when set before the scheduler starts
            name=TICK_JOB,
            # a second instance finds the tick still running and returns at once (counted and
            # logged once per run of skips, `follow_up`): APScheduler itself would log a
            # warning at every interval the tick overran
            job_kwargs={"max_instances": 2, "coalesce": True, "misfire_grace_time": None},
        )
        log.info("bot @%s started", app.bot.username)

    async def post_shutdown(app: Application) -> None:
        services = app.bot_data.services
        if services is not None:
            services.db.dispose()

    context_types = ContextTypes(context=BotContext, bot_data=BotData, user_data=UserData)
    defaults = Defaults(
        parse_mode=ParseMode.HTML,
        tzinfo=settings.schedule.zone,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    tg = settings.telegram
    requests, long_poll = make_transports(
        timeout=tg.timeout_seconds, proxy=tg.proxy.get_secret_value()
    )
    app = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .defaults(defaults)
        .request(requests)
        .get_updates_request(long_poll)
        .context_types(context_types)
        .rate_limiter(
            FloodLimiter(
                chat_rate=tg.chat_messages_per_second,
                group_per_minute=tg.group_messages_per_minute,
                overall_per_second=tg.messages_per_second,
                max_retries=3,
            )
        )
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    app.bot_data.transports = (requests, long_poll)
    timeout = timedelta(minutes=settings.conversation.timeout_minutes)
    app.add_handler(TypeHandler(Update, people.removed_gate), group=-2)
    app.add_handler(report_flow.build_conversation(timeout))
    app.add_handler(handlers.command("start", handlers.start))
    app.add_handler(handlers.command("help", handlers.help_command))
    app.add_handler(handlers.command("whoami", handlers.whoami))
    app.add_handler(handlers.command("invite", handlers.invite))
    app.add_handler(handlers.command("units", handlers.units))
    app.add_handler(handlers.command("digest", handlers.digest_command))
    app.add_handler(handlers.command("digest_groups", webhooks.digest_groups_command))
    app.add_handler(handlers.command("export", handlers.export_command))
    app.add_handler(handlers.command("task", tasks_view.task_command))
    app.add_handler(handlers.command("unit", tasks_view.unit_command))
    app.add_handler(handlers.command("deadline", deadline_view.deadline_command))
    app.add_handler(handlers.command("record", tasks_view.record_command))
    app.add_handler(handlers.command("indicators", indicators_view.indicators_command))
    app.add_handler(handlers.command("indicator", indicators_view.indicator_command))
    app.add_handler(handlers.command("backfill", backfill_view.backfill_command))
    app.add_handler(
        MessageHandler(
            filters.CaptionRegex(backfill_view.CAPTION_PATTERN)
            & (filters.PHOTO | filters.Document.ALL)
            & handlers.NEW_MESSAGE,
            backfill_view.backfill_command,
        )
    )
    app.add_handler(
        CallbackQueryHandler(backfill_view.confirm_backfill, pattern=backfill_view.CONFIRM_PATTERN)
    )
    app.add_handler(handlers.command("rename_unit", unit_change.rename_unit_command))
    app.add_handler(handlers.command("merge_unit", unit_change.merge_unit_command))
    app.add_handler(
        CallbackQueryHandler(unit_change.confirm_unit_change, pattern=unit_change.CONFIRM_PATTERN)
    )
    app.add_handler(handlers.command("close_plan", plan_close.close_plan_command))
    app.add_handler(handlers.command("rhythm", rhythm_view.rhythm_command))
    app.add_handler(handlers.command("milestone", milestone_view.milestone_command))
    app.add_handler(
        CallbackQueryHandler(plan_close.close_plan_button, pattern=plan_close.CONFIRM_PATTERN)
    )
    app.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND & handlers.NEW_MESSAGE,
            plan_close.carry_deadline_reply,
        ),
        group=-1,
    )
    app.add_handler(handlers.command("backlog", backlog.backlog_command))
    app.add_handler(handlers.command("plan", plan_upload.plan_command))
    app.add_handler(
        CallbackQueryHandler(plan_upload.confirm_plan, pattern=plan_upload.CONFIRM_PATTERN)
    )
    app.add_handler(CallbackQueryHandler(backlog.hold_button, pattern=keyboards.HOLD_PATTERN))
    app.add_handler(CallbackQueryHandler(evidence.send_evidence, pattern=evidence.EVIDENCE_PATTERN))
    app.add_handler(handlers.command("export_files", handlers.export_files_command))
    app.add_handler(handlers.command("evaluate", handlers.evaluate_command))
    app.add_handler(handlers.command("notice", notices_view.notice_command))
    app.add_handler(handlers.command("bulletin", notices_view.bulletin_command))
    app.add_handler(handlers.command("stats", stats_view.stats_command))
    app.add_handler(handlers.command("review", review_view.review_command))
    app.add_handler(
        CallbackQueryHandler(extension_flow.decide_extension, pattern=keyboards.DECISION_PATTERN)
    )
    app.add_handler(
        CallbackQueryHandler(review_view.review_button, pattern=keyboards.REVIEW_PATTERN)
    )
    app.add_handler(
        CallbackQueryHandler(
            deadline_view.confirm_deadline_batch, pattern=deadline_view.CONFIRM_PATTERN
        )
    )
    app.add_handler(
        CallbackQueryHandler(replies.store_offered_note, pattern=keyboards.NOTE_PATTERN)
    )
    for name, people_handler in (
        ("add_coordinator", people.add_coordinator),
        ("remove_coordinator", people.remove_coordinator),
        ("add_leader", people.add_leader),
        ("remove_leader", people.remove_leader),
        ("roles", people.roles_command),
        ("contacts", people.contacts_command),
        ("remove_contact", people.remove_contact_command),
        ("handover", people.handover_command),
    ):
        app.add_handler(handlers.command(name, people_handler))
    app.add_handler(
        CallbackQueryHandler(people.remove_contact_button, pattern=people.REMOVE_PATTERN)
    )
    # coordination items (协调事项)
    app.add_handler(handlers.command("items", coordination_view.items_command))
    app.add_handler(
        CallbackQueryHandler(
            coordination_view.coordinator_button, pattern=coordination_view.COORDINATOR_PATTERN
        )
    )
    app.add_handler(
        CallbackQueryHandler(coordination_view.reply_hint, pattern=coordination_view.REPLY_PATTERN)
    )
    app.add_handler(handlers.command("cancel", report_flow.cancel_outside))
    app.add_handler(handlers.command("skip", report_flow.skip_outside))
    app.add_handler(CallbackQueryHandler(report_flow.stale_button))
    private = filters.ChatType.PRIVATE
    app.add_handler(
        MessageHandler(
            private
            & filters.TEXT
            & ~filters.COMMAND
            & handlers.NEW_MESSAGE
            & filters.Regex(plan_upload.IDENTITY_PATTERN),
            plan_upload.plan_identity,
        )
    )
    app.add_handler(
        MessageHandler(
            private & filters.Document.ALL & handlers.NEW_MESSAGE, plan_upload.plan_document
        )
    )
    app.add_handler(
        MessageHandler(
            private & filters.REPLY & filters.TEXT & ~filters.COMMAND & handlers.NEW_MESSAGE,
            replies.reply_to_reminder,
        )
    )
    app.add_handler(
        MessageHandler(
            private & filters.UpdateType.EDITED_MESSAGE & filters.TEXT & ~filters.COMMAND,
            replies.remember_edit,
        )
    )
    app.add_handler(
        MessageHandler(filters.COMMAND & handlers.NEW_MESSAGE, handlers.unknown_command)
    )
    app.add_handler(MessageHandler(private & handlers.NEW_MESSAGE, handlers.private_fallback))
    app.add_error_handler(error_handler)
    return app
