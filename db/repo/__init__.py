"""Data functions: every query and write of the bot goes through this package.

One module per concern: `units` (units, tasks, assignments), `contacts` (contacts, invites,
chat migrations), `reports` (status reports, extensions, corrections), `state` (the follow-up
state, read fresh), `ledger` (the send ledger), `audit` (the audit trail) and `export` (the
台账 export's reads). Callers use `from db import repo` and `repo.<function>`.

Every function takes the `Session` first and keyword-only data; it flushes but never commits:
the caller owns the transaction (`Database.session()`), so one handler's writes commit
together. Instants are aware UTC datetimes; naive ones raise `ValueError` (`UTCDateTime`).
"""

from db.repo import audit, contacts, export, ledger, reports, state, units
from db.repo.audit import record_audit
from db.repo.contacts import (
    InviteProblem,
    Redemption,
    contact_counts,
    contacts_of_unit,
    create_invite,
    current_chat_id,
    get_contact,
    mark_unreachable,
    record_chat_migration,
    redeem_invite,
)
from db.repo.export import audit_trail, contacts_by_id, reports_oldest_first, tasks_by_number
from db.repo.ledger import (
    claim_delivery,
    claim_retry,
    delivery_for_message,
    delivery_part_sent,
    delivery_parts,
    key_claimed,
    last_digest_at,
    mark_pending_uncertain,
    sent_reminder_counts,
    settle_delivery,
    settled_keys,
)
from db.repo.reports import (
    add_report,
    create_extension,
    decide_extension,
    latest_report_by,
    open_tasks_of_unit,
    reports_of_task,
)
from db.repo.state import load_period, load_state
from db.repo.units import (
    ensure_member_units,
    find_units,
    get_plan,
    get_task,
    get_unit_by_name,
    is_lead_unit,
    lead_units,
    may_report,
    tasks_led_by,
    tasks_of_unit,
    unit_names_of_task,
)

__all__ = [
    "InviteProblem",
    "Redemption",
    "add_report",
    "audit",
    "audit_trail",
    "claim_delivery",
    "claim_retry",
    "contact_counts",
    "contacts",
    "contacts_by_id",
    "contacts_of_unit",
    "create_extension",
    "create_invite",
    "current_chat_id",
    "decide_extension",
    "delivery_for_message",
    "delivery_part_sent",
    "delivery_parts",
    "ensure_member_units",
    "export",
    "find_units",
    "get_contact",
    "get_plan",
    "get_task",
    "get_unit_by_name",
    "is_lead_unit",
    "key_claimed",
    "last_digest_at",
    "latest_report_by",
    "lead_units",
    "ledger",
    "load_period",
    "load_state",
    "mark_pending_uncertain",
    "mark_unreachable",
    "may_report",
    "open_tasks_of_unit",
    "record_audit",
    "record_chat_migration",
    "redeem_invite",
    "reports",
    "reports_of_task",
    "reports_oldest_first",
    "sent_reminder_counts",
    "settle_delivery",
    "settled_keys",
    "state",
    "tasks_by_number",
    "tasks_led_by",
    "tasks_of_unit",
    "unit_names_of_task",
    "units",
]
