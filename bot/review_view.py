"""Completion review (办结审核) in chat: a lead unit's 已完成 goes to its reviewers with 销号 /
退回; a decision is stored once and told to the unit's contacts.

    contact confirms 已完成 ──> claim stored (待审核) ──> card to each reviewer with 销号 / 退回
    销号 (va:ID) ──> accepted: the task counts as done for the unit; its contacts are told
    退回 (vr:ID) ──> the card asks for the reason; a reply to it ──> returned: a 推进中 report
    with the reason is stored (reminders resume) and the contacts get the reason

Who reviews is `jobs.review.reviewers_for`: the coordinators; for the coordinators' own unit
(`follow_up.coordinator_unit`) the leaders (分管领导) when there are any, else another
coordinator than the claimant, else the claimant (audited "self-accepted"). With
`follow_up.completion_review` false a 已完成 is accepted at once. The claims go to their
reviewers in the coordinators' one unsolicited message of the day
(`bot.delivery.send_claims`: at once when the day's message is still free, else in the next
working day's, several claims in one message with numbered buttons).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlmodel import Session
from telegram import Message, Update

from bot import keyboards, render, texts
from bot.access import is_reader, reader_only
from bot.context import BotContext, Services
from bot.delivery import CLAIMS_PER_MESSAGE, claim_reviewers, send, waiting_cards
from bot.flow_common import answer, note_problem
from bot.handlers import is_private, reply
from bot.plan_choice import read_tags
from bot.reads import in_worker
from db import repo
from db.models import CompletionReview, Plan, StatusReport, Task, Unit
from db.repo.reviews import ClaimCard
from jobs.review import Reviewers
from jobs.types import DeliveryOutcome, PlanStatus, ReviewDecision, Status

log = logging.getLogger(__name__)


def reviewers_of(svc: Services, session: Session, review: CompletionReview) -> Reviewers:
    """The reviewers of claim `review` (`bot.delivery.claim_reviewers`)."""
    unit = session.get(Unit, review.unit_id)
    return claim_reviewers(
        svc, session, claimed_by=review.claimed_by, unit_name=unit.name if unit else None
    )


def record_claim(
    svc: Services, session: Session, report: StatusReport, *, entered_by: int | None = None
) -> int | None:
    """Record a stored 已完成 `report` as a completion claim; the review id when it waits for
    a reviewer, None when it was accepted at once (review off, or `entered_by` a coordinator
    who entered it) or the report is not a 已完成."""
    if report.status is not Status.DONE:
        return None
    waits = svc.settings.follow_up.completion_review and entered_by is None
    row = repo.open_claim(
        session, report=report, now=svc.now(), review=waits, accepted_by=entered_by
    )
    return row.id if waits else None


@reader_only  # coordinators, and leaders, who review the coordinators' own unit
async def review_button(update: Update, context: BotContext) -> None:
    """销号 (va:<id>) or 退回 (vr:<id>) pressed by a reviewer on a claim card."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    review_id = int(query.data.split(":")[1])
    card = query.message if isinstance(query.message, Message) else None
    if query.data.startswith("vr:"):
        await _ask_reason(update, context, review_id)
        return
    await _decide(update, context, review_id, accept=True, card=card, reason=None)


def _refusal(session: Session, svc: Services, review_id: int, user_id: int) -> str | None:
    """Why `user_id` may not decide claim `review_id` now (Chinese), or None."""
    review = repo.get_review(session, review_id=review_id)
    task = session.get(Task, review.task_id) if review is not None else None
    if review is None or task is None:
        return texts.REVIEW_UNKNOWN
    if review.decision is not None:
        return texts.REVIEW_ALREADY_DECIDED.format(decision=_decision_word(review))
    plan = session.get(Plan, task.plan_id)
    if plan is not None and plan.status is PlanStatus.CLOSED:
        return texts.REVIEW_PLAN_CLOSED.format(
            number=task.number, plan=render.esc(plan.short_name or plan.title)
        )
    if not repo.claim_in_force(session, review=review):
        return texts.REVIEW_SUPERSEDED.format(number=task.number)
    if user_id not in reviewers_of(svc, session, review).user_ids:
        unit = session.get(Unit, review.unit_id)
        refusal = (
            texts.REVIEW_NOT_REVIEWER if user_id == review.claimed_by else texts.REVIEW_NOT_YOURS
        )
        return refusal.format(number=task.number, unit=render.esc(unit.name if unit else ""))
    return None


def _decision_word(review: CompletionReview) -> str:
    if review.decision is ReviewDecision.ACCEPTED:
        return texts.REVIEW_DECISION_ACCEPTED
    return texts.REVIEW_DECISION_RETURNED.format(reason=render.esc(review.reason or ""))


async def _ask_reason(update: Update, context: BotContext, review_id: int) -> None:
    """Ask the reviewer who pressed 退回 for the reason, on the claim card itself (the reply
    carries the card, whose button names the claim: nothing kept in memory)."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    svc = context.svc
    with svc.db.session() as s:
        refusal = _refusal(s, svc, review_id, user.id)
        review = repo.get_review(s, review_id=review_id)
        task = s.get(Task, review.task_id) if review else None
        unit = s.get(Unit, review.unit_id) if review else None
    if refusal is not None or task is None or unit is None:
        await answer(update, refusal or texts.REVIEW_UNKNOWN, alert=True)
        return
    await answer(update)
    card = query.message
    if isinstance(card, Message) and _several(card):
        # a message of several claims: its other buttons stay; the question comes apart
        await _edit_markup(card, keyboards.without_claim(card.reply_markup, review_id))
        question = texts.REVIEW_ASK_RETURN_REASON_ITEM.format(
            number=task.number, unit=render.esc(unit.name)
        )
        result = await send(
            context.bot,
            card.chat_id,
            question,
            reply_markup=keyboards.return_reason_keyboard(review_id),
            reply_to_message_id=card.message_id,
        )
        if result.outcome is not DeliveryOutcome.SENT:
            log.warning("claim %s: return reason question not sent: %s", review_id, result.error)
        return
    if isinstance(card, Message):
        question = texts.REVIEW_ASK_RETURN_REASON.format(
            number=task.number, unit=render.esc(unit.name)
        )
        edited = await _edit(
            card,
            render.esc(_card_text(card)) + "\n\n" + question,
            reply_markup=keyboards.return_reason_keyboard(review_id),
        )
        if not edited:
            log.warning("claim %s: return reason question not shown", review_id)


def _several(card: Message) -> bool:
    """True for a reviewers' message of several claims (numbered, `render.claims_text`)."""
    head = re.sub(r"<[^>]+>", "", texts.REVIEW_BATCH_HEAD.split("{", 1)[0])
    return (card.text or "").startswith(head)


def _card_text(card: Message) -> str:
    """The claim card's own text, without a question for a return's reason."""
    marker = texts.REVIEW_ASK_RETURN_REASON.split("{", 1)[0]
    return (card.text or "").split("\n\n" + marker, 1)[0]


async def _edit_markup(card: Message, markup: object) -> None:
    from telegram.error import TelegramError

    try:
        await card.edit_reply_markup(reply_markup=markup)  # type: ignore[arg-type]
    except TelegramError as exc:
        log.info("claim buttons not updated: %s", exc)


async def _edit(card: Message, text: str, **kwargs: object) -> bool:
    from telegram.error import TelegramError

    try:
        await card.edit_text(text, **kwargs)  # type: ignore[arg-type]
    except TelegramError as exc:
        log.info("claim card not edited: %s", exc)
        return False
    return True


async def take_return_reason(update: Update, context: BotContext, review_id: int) -> None:
    """A reviewer's reply to the question for a return's reason: return the claim with it."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    if not await is_reader(context.svc, user.id):  # a reviewer: see `_refusal`
        await reply(update, texts.NOT_COORDINATOR)
        return
    reason = (message.text or "").strip()
    if not reason:
        await reply(update, texts.REVIEW_RETURN_NO_REASON)
        return
    problem = note_problem(reason)
    if problem is not None:
        await reply(update, problem)
        return
    await _decide(
        update, context, review_id, accept=False, card=message.reply_to_message, reason=reason
    )


async def _decide(
    update: Update,
    context: BotContext,
    review_id: int,
    *,
    accept: bool,
    card: Message | None,
    reason: str | None,
) -> None:
    """Decide claim `review_id` once; mark the card and tell the unit's contacts."""
    user = update.effective_user
    assert user is not None
    svc = context.svc
    now = svc.now()
    with svc.db.session() as s:
        refusal = _refusal(s, svc, review_id, user.id)
        decided = None
        if refusal is None:
            review = repo.get_review(s, review_id=review_id)
            assert review is not None
            self_review = reviewers_of(svc, s, review).self_review
            decided = repo.decide_claim(
                s,
                review_id=review_id,
                accept=accept,
                decided_by=user.id,
                now=now,
                reason=reason,
                self_accepted=self_review,
            )
            if decided.outcome is not repo.Outcome.DECIDED:
                refusal = texts.REVIEW_ALREADY_DECIDED.format(
                    decision=_decision_word(decided.review) if decided.review else ""
                )
        task = unit = None
        chats: list[int] = []
        tag = ""
        if decided is not None and decided.review is not None and refusal is None:
            task = s.get(Task, decided.review.task_id)
            unit = s.get(Unit, decided.review.unit_id)
            chats = [
                c.chat_id
                for c in repo.contacts_of_unit(s, unit_id=decided.review.unit_id)
                if c.unreachable_reason is None
            ]
            tag = read_tags(s).get(task.plan_id, "") if task else ""
    if refusal is not None or task is None or unit is None:
        text = refusal or texts.REVIEW_UNKNOWN
        if update.callback_query is not None:
            await answer(update, text, alert=True)
        else:
            await reply(update, text)
        return
    log.info("claim %s %s by %s", review_id, "accepted" if accept else "returned", user.id)
    await answer(update)
    decision = (
        texts.REVIEW_DECISION_ACCEPTED
        if accept
        else texts.REVIEW_DECISION_RETURNED.format(reason=render.esc(reason or ""))
    )
    who = render.esc(user.full_name or str(user.id))
    at = render.fmt_instant(now, svc.policy.zone)
    if card is not None and _several(card):
        # a message of several claims: this one's line of decision, the others' buttons stay
        line = texts.REVIEW_ITEM_DECIDED.format(
            number=task.number, unit=render.esc(unit.name), decision=decision, who=who, at=at
        )
        await _edit(
            card,
            render.esc(card.text or "") + "\n\n" + line,
            reply_markup=keyboards.without_claim(card.reply_markup, review_id),
        )
    elif card is not None:
        await _edit(
            card,
            texts.REVIEW_DECIDED.format(
                original=render.esc(_card_text(card)), decision=decision, who=who, at=at
            ),
        )
    if update.callback_query is None:
        await reply(update, decision)
    told = _told(accept, tag, task.number, reason, now, svc)
    for chat_id in chats:
        result = await send(context.bot, chat_id, told)
        if result.outcome is not DeliveryOutcome.SENT:
            log.warning("claim %s decided; contact chat not told: %s", review_id, result.error)


def _told(
    accept: bool, tag: str, number: int, reason: str | None, now: datetime, svc: Services
) -> str:
    """What the unit's contacts are told of a decision."""
    if accept:
        on = render.fmt_date(now.astimezone(svc.policy.zone).date())
        return texts.REVIEW_TO_CONTACT_ACCEPTED.format(plan=tag, number=number, on=on)
    return texts.REVIEW_TO_CONTACT_RETURNED.format(
        plan=tag, number=number, reason=render.esc(reason or "")
    )


def _waiting_for(svc: Services, user_id: int) -> tuple[list[ClaimCard], dict[int, str], bool]:
    """The claims waiting for `user_id`'s review, oldest first; the plans' tags; whether any
    of them is the reviewer's own claim (reviewed alone)."""
    with svc.db.session() as s:
        mine: list[ClaimCard] = []
        alone = False
        for card, reviewers in waiting_cards(svc, s):
            if user_id in reviewers.user_ids:
                mine.append(card)
                alone = alone or reviewers.self_review
        return mine, render.plan_tags(repo.read_plans(s)), alone


@reader_only
async def review_command(update: Update, context: BotContext) -> None:
    """`/review` (reviewers, private chat): the completion claims waiting for the asker's
    review, with 销号 / 退回 under each, whenever they ask (the unsolicited message may have
    to wait for the day's one message)."""
    user = update.effective_user
    if user is None:
        return
    if not is_private(update):
        await reply(update, texts.REVIEW_PRIVATE_ONLY)
        return
    svc = context.svc
    cards, tags, alone = await in_worker(svc, _waiting_for, svc, user.id)
    if not cards:
        await reply(update, texts.REVIEW_NONE_WAITING)
        return
    for start in range(0, len(cards), CLAIMS_PER_MESSAGE):
        part = cards[start : start + CLAIMS_PER_MESSAGE]
        await reply(
            update,
            render.claims_text(part, tags, svc.policy.zone, self_review=alone),
            reply_markup=keyboards.claims_keyboard([(c.review_id, c.number) for c in part]),
        )
