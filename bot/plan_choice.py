"""Which plan a command means, and how chat names a task's plan, when several plans (规划,
年度工作要点) are followed up side by side.

With one active plan nothing changes: numbers are the plan's 序号 and no plan is named. With
several, a command takes a plan's 简称 among its words (`/task 十四五 5`), else it means the
newest active plan (`jobs.plans.choose_plan`) and says so, naming the others; lists and
buttons put 【简称】 before each task.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from bot import render, texts
from db import repo
from jobs.plans import PlanChoice, PlanView, choose_plan


def read_choice(session: Session, words: Sequence[str]) -> PlanChoice:
    """The plan `words` name (or the default one) and the words left, read from the database."""
    return choose_plan(repo.read_plans(session), words)


def read_tags(session: Session, *, html_text: bool = True) -> dict[int, str]:
    """`render.plan_tags` of the plans in the database."""
    return render.plan_tags(repo.read_plans(session), html_text=html_text)


def choice_line(choice: PlanChoice, command: str, rest: str) -> str | None:
    """The line saying which plan a command used, when other plans are active: the plan
    named, or the default one with the others and an example (`/{command} 简称 {rest}`);
    None when only one plan is active."""
    if choice.plan is None or not choice.others:
        return None
    if choice.named:
        return texts.PLAN_NAMED.format(plan=render.esc(choice.plan.label))
    other = choice.others[0]
    name = other.short_name or other.document_number
    return texts.PLAN_MEANT.format(
        plan=render.esc(choice.plan.label),
        others="、".join(f"“{render.esc(p.label)}”" for p in choice.others),
        example=render.esc(f"/{command} {name} {rest}".strip()),
    )


def unknown_plan(template: str, choice: PlanChoice, plans: Sequence[PlanView]) -> str:
    """A command's answer to words that name no plan (HTML): `template` filled with the words
    typed (clipped), the plans by 简称 (else 文号) and the chosen plan's as an example."""
    assert choice.plan is not None
    return template.format(
        word=render.esc(render.clip(" ".join(choice.words), 30)),
        plans=render.esc("、".join(p.short_name or p.document_number for p in plans)),
        example=render.esc(choice.plan.short_name or choice.plan.document_number),
    )
