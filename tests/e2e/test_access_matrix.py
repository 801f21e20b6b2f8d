"""Who may do what: every role against every command and button, one row per cell.

Roles: a stranger, the contact of unit A (2001, 区民政局: tasks 2, 5, 8, 25), the contact of
unit B (2002, 潼南税务局: task 10), the coordinator, a group member who is none of these
and acts in the committee group, and a leader (分管领导, 4004, granted in chat: reads
/digest, /task, /unit and changes nothing). "Allowed" means the characteristic answer
appears; "refused" means the refusal appears (a message, or an answer to the button press)
and nothing is stored (StatusReport, Invite, Contact and AuditEvent rows are counted before
and after, and task 10's deadline is compared); "silent" means the bot says nothing and
stores nothing. One bot runs for the whole module; each row first restores the two
contacts (not removed), task 10's deadline and the leader's grant, and ends any
conversation.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from sqlmodel import func, select

from bot import texts
from db import repo
from db.models import AuditEvent, Contact, Invite, RoleGrant, StatusReport, Task
from jobs.types import Role, Status
from standin import BotApiStandIn, SentMessage
from standin.harness import COORDINATOR, GROUP
from tests.conftest import GROUP_MEMBER, STRANGER, BotHarness, database_url_in, started_bot

pytestmark = pytest.mark.asyncio(loop_scope="module")

A, B = 2001, 2002
LEADER, NEWCOMER = 4004, 5005
UNIT_A, UNIT_B, OTHER_UNIT = "区民政局", "潼南税务局", "区教委"
ROLES = {  # role -> (user id, the chat the role acts in)
    "stranger": (STRANGER, STRANGER),
    "contactA": (A, A),
    "contactB": (B, B),
    "coordinator": (COORDINATOR, COORDINATOR),
    "member@group": (GROUP_MEMBER, GROUP),
    "leader": (LEADER, LEADER),
}


@dataclass(frozen=True)
class Expect:
    """`outcome`: "allowed", "refused" or "silent"; `via`: where `text` shows: "chat" (a
    message in the chat acted in; "…" separates parts that must all appear), "alert"
    (answerCallbackQuery with show_alert) or "toast" (answerCallbackQuery without show_alert);
    `stored`: the change of the (StatusReport, Invite, Contact, AuditEvent) row counts an
    allowed action makes."""

    outcome: str
    text: str = ""
    via: str = "chat"
    stored: tuple[int, int, int, int] = (0, 0, 0, 0)


def ok(text: str, stored: tuple[int, int, int, int] = (0, 0, 0, 0)) -> Expect:
    return Expect("allowed", text, "chat", stored)


def no(text: str, via: str = "chat") -> Expect:
    return Expect("refused", text, via)


SILENT = Expect("silent")
NOT_COORDINATOR = no("仅限协调员")
NOT_CONTACT = no("还不是任何单位的联络员")
NOT_CONTACT_ALERT = no("还不是任何单位的联络员", "alert")
PRIVATE_ONLY_ALERT = no("请在与我的私聊中操作", "alert")
EXPIRED = no("该按钮已失效", "toast")
HELP = ok("残工委重点任务督办助手")
NOT_COORDINATOR_ALERT = no("仅限协调员", "alert")


def not_yours(number: int) -> Expect:
    return no(f"第{number}项任务不由贵单位牵头", "alert")


# action -> role -> expected
MATRIX: dict[str, dict[str, Expect]] = {
    "/start": {
        "stranger": ok("请使用协调员发给您的邀请链接登记"),
        "contactA": ok(f"您已是{UNIT_A}的联络员"),
        "contactB": ok(f"您已是{UNIT_B}的联络员"),
        "coordinator": ok("您好，协调员"),
        "member@group": SILENT,
    },
    "/start <code of another unit>": {
        "stranger": ok(f"登记成功！您已成为{OTHER_UNIT}的联络员", (0, 0, 1, 1)),
        "contactA": ok(f"您原为{UNIT_A}的联络员，现已改为{OTHER_UNIT}", (0, 0, 0, 1)),
        "contactB": ok(f"您原为{UNIT_B}的联络员，现已改为{OTHER_UNIT}", (0, 0, 0, 1)),
        "coordinator": ok(f"登记成功！您已成为{OTHER_UNIT}的联络员", (0, 0, 1, 1)),
        "member@group": SILENT,
    },
    "/help": {role: HELP for role in ROLES},
    "/whoami": {
        "stranger": ok(f"用户编号：{STRANGER}\n身份：尚未登记"),
        "contactA": ok(f"身份：{UNIT_A}联络员"),
        "contactB": ok(f"身份：{UNIT_B}联络员"),
        "coordinator": ok("身份：协调员"),
        "member@group": ok(
            "身份：尚未登记。单位联络员请点击协调员发给您的邀请链接登记；"
            "协调员请把上面的用户编号填入配置 telegram.coordinators 并重启机器人。"
            f"\n本群编号：{GROUP}（可填入配置 telegram.digest_chat_id）"
        ),
    },
    "/invite <unit A>": {
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok(f"已为{UNIT_A}生成一次性邀请", (0, 1, 0, 1)),
        "member@group": NOT_COORDINATOR,
    },
    "/units": {
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok("牵头单位联络员情况"),
        "member@group": NOT_COORDINATOR,
    },
    "/digest": {
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok("残工委重点任务督办汇总"),
        "member@group": NOT_COORDINATOR,
    },
    "/digest_groups (no group robot configured)": {
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok("尚未配置钉钉群或企业微信群机器人"),
        "member@group": NOT_COORDINATOR,
    },
    "/digest@canggongwei_bot in group": {
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok("残工委重点任务督办汇总"),
        "member@group": NOT_COORDINATOR,
    },
    "/export": {
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok("重点任务台账"),
        "member@group": NOT_COORDINATOR,
    },
    "/evaluate": {
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok("评估初稿（截至"),
        "member@group": NOT_COORDINATOR,
    },
    "/notice <unit A>": {
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok("区民政局督办通知单：未办结任务"),
        "member@group": NOT_COORDINATOR,
    },
    "/bulletin": {
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok("督查通报（"),
        "member@group": NOT_COORDINATOR,
    },
    "/export_files": {
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok("还没有任何佐证材料"),
        "member@group": NOT_COORDINATOR,
    },
    "/indicators": {
        "stranger": NOT_CONTACT,
        "contactA": ok("【十四五】主要指标（11项）"),
        "contactB": ok("【十四五】主要指标（11项）"),
        "coordinator": ok("【十四五】主要指标（11项）"),
        "member@group": NOT_CONTACT,
    },
    # indicator 3 is owned by unit A: its contact and coordinators record (audited)
    "/indicator 3 2024 100 <source>": {
        "stranger": NOT_CONTACT,
        "contactA": ok("已录入：【十四五】第3项", (0, 0, 0, 1)),
        "contactB": no(f"第3项主要指标由{UNIT_A}填报，贵单位不能录入"),
        "coordinator": ok("已录入：【十四五】第3项", (0, 0, 0, 1)),
        "member@group": NOT_CONTACT,
    },
    "/task 2": {
        "stranger": NOT_CONTACT,
        "contactA": ok("第2项…牵头单位：区民政局"),
        # not named in task 2 at all: told what they can view instead
        "contactB": no(f"第2项不由{UNIT_B}牵头，也未列{UNIT_B}为责任单位，无法查看。发送 /unit"),
        "coordinator": ok("第2项…牵头单位：区民政局"),
        "member@group": NOT_CONTACT,
    },
    "/task 10": {
        "stranger": NOT_CONTACT,
        "contactA": ok("第10项…牵头单位：潼南税务局"),  # 区民政局 is a responsible unit
        "contactB": ok("第10项…牵头单位：潼南税务局"),
        "coordinator": ok("第10项…牵头单位：潼南税务局"),
        "member@group": NOT_CONTACT,
    },
    "/unit <unit B>": {
        "stranger": NOT_CONTACT,
        "contactA": no(f"联络员只能查看本单位的任务。发送 /unit 查看{UNIT_A}的任务。"),
        "contactB": ok(f"{UNIT_B}\n联络员：张华"),
        "coordinator": ok(f"{UNIT_B}\n联络员：张华"),
        "member@group": NOT_CONTACT,
    },
    "/deadline 10 2026-06-30": {
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok("已将第10项的完成时限由2025年12月31日改为2026年6月30日", (0, 0, 0, 1)),
        "member@group": NOT_COORDINATOR,
    },
    "/rename_unit <unit B> 新名称": {  # a preview: nothing stored before 确认
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok(f"单位更名：{UNIT_B} → 国家税务总局潼南税务局"),
        "member@group": NOT_COORDINATOR,
    },
    "/merge_unit <other unit> <unit B>": {
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok(f"单位合并：{OTHER_UNIT} 并入 {UNIT_B}"),
        "member@group": NOT_COORDINATOR,
    },
    "/backfill 2 <unit A> 已完成 2023-06-30 说明": {  # a preview: nothing stored before 确认
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok("请核对补录内容…单位：区民政局…日期：2023年6月30日"),
        "member@group": NOT_COORDINATOR,
    },
    "button bf:ok (no preview)": {
        "stranger": no("仅限协调员", "alert"),
        "contactA": no("仅限协调员", "alert"),
        "contactB": no("仅限协调员", "alert"),
        "coordinator": no("这份补录预览已失效", "alert"),
        "member@group": no("仅限协调员", "alert"),
    },
    "/rhythm": {  # the view: nothing stored
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok("各规划的报送频次…十四五：每月25日起一期（默认）"),
        "member@group": NOT_COORDINATOR,
    },
    "/milestone 10": {  # no date nor text: the usage, nothing stored
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok("用法：/milestone [规划简称] 序号 日期 内容"),
        "member@group": NOT_COORDINATOR,
    },
    "/close_plan 十四五": {  # a preview: nothing stored before 关闭
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok("关闭计划“十四五”…关闭后不再提醒，记录仍可查看、导出。"),
        "member@group": NOT_COORDINATOR,
    },
    "button pc:close (no preview)": {
        "stranger": no("仅限协调员", "alert"),
        "contactA": no("仅限协调员", "alert"),
        "contactB": no("仅限协调员", "alert"),
        "coordinator": no("这次关闭已失效或已处理", "alert"),
        "member@group": no("仅限协调员", "alert"),
    },
    "button uc:ok (no preview)": {
        "stranger": no("仅限协调员", "alert"),
        "contactA": no("仅限协调员", "alert"),
        "contactB": no("仅限协调员", "alert"),
        "coordinator": no("这次操作已失效", "alert"),
        "member@group": no("仅限协调员", "alert"),
    },
    "/report": {
        "stranger": NOT_CONTACT,
        # 区民政局 leads tasks 2, 5, 8, 25 and is a responsible unit (协办) of 6 more;
        # 潼南税务局 leads task 10 and supports task 9
        "contactA": ok(f"请选择要反馈的任务（{UNIT_A}，未完成的共10项，其中协办6项）"),
        "contactB": ok(f"请选择要反馈的任务（{UNIT_B}，未完成的共2项，其中协办1项）"),
        "coordinator": NOT_CONTACT,
        "member@group": no("请在与我的私聊中操作"),
    },
    "/cancel": {
        "stranger": ok("当前没有进行中的操作"),
        "contactA": ok("当前没有进行中的操作"),
        "contactB": ok("当前没有进行中的操作"),
        "coordinator": ok("当前没有进行中的操作"),
        "member@group": SILENT,
    },
    "/skip": {  # outside a report (one cut off by a restart): says none is in progress
        "stranger": no("没有进行中的反馈"),
        "contactA": no("没有进行中的反馈"),
        "contactB": no("没有进行中的反馈"),
        "coordinator": no("没有进行中的反馈"),
        "member@group": SILENT,
    },
    "button r:2:in_progress": {
        "stranger": NOT_CONTACT_ALERT,
        "contactA": ok("第2项，状态：推进中\n请用一两句话说明进展情况"),
        "contactB": not_yours(2),
        "coordinator": NOT_CONTACT_ALERT,
        "member@group": PRIVATE_ONLY_ALERT,
    },
    "button t:2 after /report": {  # task buttons also open a report (message of the day)
        "stranger": NOT_CONTACT_ALERT,
        "contactA": ok("第2项：将符合条件的残疾人家庭…\n\n请选择当前进展"),
        "contactB": not_yours(2),
        "coordinator": NOT_CONTACT_ALERT,
        "member@group": PRIVATE_ONLY_ALERT,
    },
    "button t:10 after /report": {  # task buttons also open a report (message of the day)
        "stranger": NOT_CONTACT_ALERT,
        "contactA": ok("第10项：…\n\n请选择当前进展"),  # 区民政局 supports task 10 (协办)
        "contactB": ok("第10项：…\n\n请选择当前进展"),
        "coordinator": NOT_CONTACT_ALERT,
        "member@group": PRIVATE_ONLY_ALERT,
    },
    "button r:10:done": {
        "stranger": NOT_CONTACT_ALERT,
        "contactA": ok("第10项，状态：已完成\n请用一两句话说明进展情况"),  # 协办
        "contactB": ok("第10项，状态：已完成\n请用一两句话说明进展情况"),
        "coordinator": NOT_CONTACT_ALERT,
        "member@group": PRIVATE_ONLY_ALERT,
    },
    "button r:14:done": {  # 区教委 leads task 14, 区残联 supports it: neither A nor B
        "stranger": NOT_CONTACT_ALERT,
        "contactA": not_yours(14),
        "contactB": not_yours(14),
        "coordinator": NOT_CONTACT_ALERT,
        "member@group": PRIVATE_ONLY_ALERT,
    },
    "confirm button of someone else's draft": {role: EXPIRED for role in ROLES},
    "press on someone else's reminder": {role: PRIVATE_ONLY_ALERT for role in ROLES},
    "/stats": {  # the view: nothing stored
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok("【十四五】办理统计…重点任务30项"),
        "member@group": NOT_COORDINATOR,
        "leader": ok("【十四五】办理统计…重点任务30项"),
    },
    "/review": {  # the claims waiting for the asker's review (or none): nothing stored
        "stranger": NOT_COORDINATOR,
        "contactA": NOT_COORDINATOR,
        "contactB": NOT_COORDINATOR,
        "coordinator": ok("审核"),
        "member@group": NOT_COORDINATOR,
        "leader": ok("审核"),
    },
    "/stats in group": {  # a coordinator or leader in the group: pointed to the private chat
        "coordinator": ok("请在与我的私聊中使用 /stats"),
        "leader": ok("请在与我的私聊中使用 /stats"),
    },
    # completion review (办结审核): a waiting claim of unit B on task 10, made for each row
    "button va:<claim> (销号)": {
        "stranger": NOT_COORDINATOR_ALERT,
        "contactA": NOT_COORDINATOR_ALERT,
        "contactB": NOT_COORDINATOR_ALERT,
        "coordinator": ok("已销号", stored=(0, 0, 0, 1)),
        "member@group": NOT_COORDINATOR_ALERT,
        # a leader reviews only the coordinators' own unit: B's claim is not theirs
        "leader": no("不由您审核", "alert"),
    },
    "button vr:<claim> (退回)": {
        "stranger": NOT_COORDINATOR_ALERT,
        "contactA": NOT_COORDINATOR_ALERT,
        "contactB": NOT_COORDINATOR_ALERT,
        "coordinator": ok("请直接回复本消息，写明退回第10项"),
        "member@group": NOT_COORDINATOR_ALERT,
        # a leader reviews only the coordinators' own unit: B's claim is not theirs
        "leader": no("不由您审核", "alert"),
    },
}

# the people commands (roles granted in chat, a unit's contacts): coordinators only
_PEOPLE: dict[str, Expect] = {
    "/roles": ok("协调员和分管领导…分管领导…4004"),
    "/add_leader <newcomer>": ok(f"已将 赵新（{NEWCOMER}）设为分管领导", (0, 0, 0, 1)),
    "/add_coordinator <newcomer>": ok(f"已将 赵新（{NEWCOMER}）设为协调员", (0, 0, 0, 1)),
    "/remove_leader <leader>": ok(f"已取消 {LEADER} 的分管领导身份", (0, 0, 0, 1)),
    "/remove_coordinator <config coordinator>": no(
        f"{COORDINATOR} 是配置文件中的协调员，不能在对话中移除"
    ),
    "/contacts <unit A>": ok(f"{UNIT_A}的联络员：…李明"),
    "/remove_contact <unit B> 张华": ok(f"已移除{UNIT_B}的联络员 张华", (0, 0, 0, 1)),
    "/handover <unit B>": ok(f"已移除{UNIT_B}的联络员：张华…生成一次性邀请", (0, 1, 0, 2)),
}
for _action, _coordinator in _PEOPLE.items():
    MATRIX[_action] = {role: NOT_COORDINATOR for role in ROLES} | {"coordinator": _coordinator}
MATRIX["button pc:rm (contact B)"] = {role: no("仅限协调员", "alert") for role in ROLES} | {
    "coordinator": ok(f"已移除{UNIT_B}的联络员 张华", (0, 0, 0, 1))
}

# a leader is refused as a stranger is, except for what it may read
_LEADER_READS = ok("残工委重点任务督办汇总")
_LEADER: dict[str, Expect] = {
    "/whoami": ok(f"用户编号：{LEADER}\n身份：分管领导（只读）"),
    "/digest": _LEADER_READS,
    # posted, or (the coordinator's row just posted it there) pointed to
    "/digest@canggongwei_bot in group": ok("督办汇总"),
    "/task 2": ok("第2项…牵头单位：区民政局"),
    "/task 10": ok("第10项…牵头单位：潼南税务局"),
    "/unit <unit B>": ok(f"{UNIT_B}\n联络员：张华"),
}
for _action, _cells in MATRIX.items():
    if "stranger" in _cells:  # a row of every role (a row of one role names the leader itself)
        _cells.setdefault("leader", _LEADER.get(_action, _cells["stranger"]))
# coordination items (协调事项): coordinators only; the units' reply marker only explains
COORDINATOR_ALERT = no("仅限协调员", "alert")
MATRIX.update(
    {
        "/items": {
            "stranger": NOT_COORDINATOR,
            "contactA": NOT_COORDINATOR,
            "contactB": NOT_COORDINATOR,
            "coordinator": ok("目前没有未办结的协调事项"),
            "member@group": NOT_COORDINATOR,
        },
        **{
            f"button {data} (no item)": {
                **{role: COORDINATOR_ALERT for role in ROLES},
                "coordinator": no("没有找到该协调事项", "alert"),
            }
            for data in ("ci:a:999", "ci:d:999", "ci:c:999", "ci:s:999", "ci:u:999:1")
        },
        "button ci:r:999 (reply marker)": {
            role: Expect("allowed", "请长按本消息选择“回复”", "alert") for role in ROLES
        },
    }
)

ROWS = [
    pytest.param(role, action, expected, id=f"{role} | {action}")
    for action, cells in MATRIX.items()
    for role, expected in cells.items()
]


# ---------------------------------------------------------------- one bot for the module


@dataclass
class Env:
    bot: BotHarness
    reminders: dict[int, SentMessage] = field(default_factory=dict)  # task number -> reminder
    unit_ids: dict[str, int] = field(default_factory=dict)
    deadline_10: Any = None  # task 10's deadline from the task file

    @property
    def api(self) -> BotApiStandIn:
        return self.bot.api


def reminder_of(chat: int, number: int) -> Callable[[SentMessage], bool]:
    return lambda m: m.chat_id == chat and f"第{number}项" in m.plain_text and bool(m.buttons)


def cancelled(chat: int) -> Callable[[SentMessage], bool]:
    return lambda m: (
        m.chat_id == chat and ("已取消" in m.plain_text or "没有进行中" in m.plain_text)
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    """The bot with A and B registered and this week's reminders sent to them."""
    url = database_url_in(tmp_path_factory.mktemp("access"))
    users = (
        (COORDINATOR, "王协调"),
        (A, "李明"),
        (B, "张华"),
        (STRANGER, "路人"),
        (GROUP_MEMBER, "委员甲"),
        (LEADER, "刘领导"),
        (NEWCOMER, "赵新"),
    )
    members = (COORDINATOR, A, GROUP_MEMBER, STRANGER, LEADER)
    async with started_bot(url, users, members) as bot:
        api = bot.api
        await bot.register(A, UNIT_A)
        await bot.register(B, UNIT_B)
        await bot.tick()  # reminders: tasks 2, 5, 8, 25 to A, task 10 to B; the digest
        result = Env(bot)
        for number, chat in ((2, A), (5, A), (8, A), (25, A), (10, B)):
            result.reminders[number] = await api.wait_for(reminder_of(chat, number))
        await api.wait_for(lambda m: m.chat_id == GROUP and "督办汇总" in m.plain_text)
        with bot.svc.db.session() as s:
            for name in (UNIT_A, UNIT_B, OTHER_UNIT):
                unit = repo.get_unit_by_name(s, name=name)
                assert unit is not None and unit.id is not None
                result.unit_ids[name] = unit.id
            task = repo.get_task(s, number=10)
            assert task is not None
            result.deadline_10 = task.deadline
            repo.grant_role(
                s,
                telegram_user_id=LEADER,
                role=Role.LEADER,
                display_name="刘领导",
                granted_by=COORDINATOR,
                now=bot.svc.now(),
            )
            plan_id = repo.read_plans(s)[0].id
            repo.set_owner(
                s,
                plan_id=plan_id,
                number=3,
                unit_id=result.unit_ids[UNIT_A],
                actor_user_id=0,
                now=bot.svc.now(),
            )
        await api.wait_idle(quiet=0.1)
        yield result


def counts(env: Env) -> tuple[int, int, int, int]:
    with env.bot.svc.db.session() as s:
        return tuple(  # type: ignore[return-value]
            s.exec(select(func.count()).select_from(table)).one()
            for table in (StatusReport, Invite, Contact, AuditEvent)
        )


def deadline_10(env: Env) -> Any:
    with env.bot.svc.db.session() as s:
        return s.exec(select(Task).where(Task.number == 10)).one().deadline


def contact_id(env: Env, user: int) -> int:
    with env.bot.svc.db.session() as s:
        contact = s.exec(select(Contact).where(Contact.telegram_user_id == user)).one()
        return contact.id or 0


def contact_units(env: Env) -> dict[int, int]:
    with env.bot.svc.db.session() as s:
        return {c.telegram_user_id: c.unit_id for c in s.exec(select(Contact)).all()}


async def said(env: Env, chat: int, fragment: str, since: int) -> SentMessage:
    """The first message to `chat` since `since` containing every "…"-separated part of
    `fragment`; fails one second after the bot's first answer there, quoting what it said."""
    api = env.api
    parts = fragment.split("…")
    await api.wait_for(lambda m: m.chat_id == chat, since=since)
    try:
        return await api.wait_for(
            lambda m: m.chat_id == chat and all(p in m.plain_text for p in parts),
            since=since,
            timeout=1.0,
        )
    except AssertionError:
        answers = [m.plain_text[:120] for m in api.sent[since:] if m.chat_id == chat]
        raise AssertionError(f"expected an answer with {fragment!r}; got {answers}") from None


async def reset(env: Env) -> None:
    """Only A (unit A) and B (unit B) are contacts, task 10 keeps the deadline of the task
    file, and neither contact has a conversation running."""
    with env.bot.svc.db.session() as s:
        task = s.exec(select(Task).where(Task.number == 10)).one()
        task.deadline = env.deadline_10
        task.deadline_by_coordinator = False
        for grant in s.exec(select(RoleGrant)).all():
            if grant.telegram_user_id == LEADER and grant.role == Role.LEADER:
                grant.revoked_at = grant.revoked_by = None
            else:
                s.delete(grant)
        for contact in s.exec(select(Contact)).all():
            contact.removed_at = contact.removed_by = None
            if contact.telegram_user_id == A:
                contact.unit_id = env.unit_ids[UNIT_A]
            elif contact.telegram_user_id == B:
                contact.unit_id = env.unit_ids[UNIT_B]
            else:
                s.delete(contact)
    for user in (A, B):
        since = len(env.api.sent)
        env.api.send_text(user, "/cancel")
        await env.api.wait_for(cancelled(user), since=since)


@dataclass
class Observed:
    """What to look at after an action: where it happened and how things stood before it."""

    chat: int  # the chat where a message answer is expected
    before: tuple[int, int, int, int]
    since: int  # index into api.sent
    calls: int  # index into api.calls
    query: str | None = None  # the callback query id of a press
    code: str | None = None  # the invite code redeemed
    after: Callable[[], Awaitable[None]] | None = None  # a check once the row is judged


def snapshot(env: Env, chat: int) -> Observed:
    return Observed(chat, counts(env), len(env.api.sent), len(env.api.calls))


async def bot_message_in(env: Env, user: int, chat: int) -> SentMessage:
    """A message of the bot in `chat` to press a (forged) button on; ask for one if needed."""
    if chat == GROUP:
        return [m for m in env.api.messages_to(GROUP) if not m.is_edit][-1]
    since = len(env.api.sent)
    env.api.send_text(user, "/help", chat_id=chat)
    return await said(env, chat, "督办助手", since)


async def press(env: Env, role: str, data: str) -> Observed:
    """Press `data` on a message in the role's own chat: its reminder carrying that button if
    it has one, else another of its reminders, else any message of the bot there."""
    user, chat = ROLES[role]
    own = [m for m in env.reminders.values() if m.chat_id == chat]
    matching = [m for m in own if data in [d for _, d in m.buttons]]
    target = (matching or own or [await bot_message_in(env, user, chat)])[0]
    seen = snapshot(env, chat)
    seen.query = env.api.press_button(user, target.message_id, data, chat_id=chat)
    return seen


async def task_button_after_report(env: Env, role: str, number: int) -> Observed:
    user, chat = ROLES[role]
    since = len(env.api.sent)
    env.api.send_text(user, "/report", chat_id=chat)
    await env.api.wait_for(lambda m: m.chat_id == chat, since=since)
    await env.api.wait_idle(quiet=0.05)
    menu = [m for m in env.api.sent[since:] if m.chat_id == chat][-1]
    seen = snapshot(env, chat)
    seen.query = env.api.press_button(user, menu.message_id, f"t:{number}", chat_id=chat)
    return seen


async def confirm_others_draft(env: Env, role: str) -> Observed:
    """The owner (A, or B when the role is A) brings a draft to its confirmation; the role
    presses its 确认提交. Afterwards the owner's 取消 must still work: the draft was intact."""
    user, chat = ROLES[role]
    owner, number = (B, 10) if user == A else (A, 2)
    api = env.api
    since = len(api.sent)
    api.press_button(owner, env.reminders[number].message_id, f"r:{number}:in_progress")
    await said(env, owner, "请用一两句话", since)
    since = len(api.sent)
    api.send_text(owner, "草稿说明")
    evidence = await said(env, owner, "如有佐证材料", since)
    since = len(api.sent)
    api.click(owner, evidence, texts.BUTTON_SKIP)
    confirmation = await said(env, owner, "请确认", since)
    seen = snapshot(env, chat)
    seen.query = api.press_button(
        user, confirmation.message_id, confirmation.data_for(texts.BUTTON_CONFIRM), chat_id=owner
    )

    async def owner_can_still_cancel() -> None:
        since = len(api.sent)
        api.click(owner, confirmation, texts.BUTTON_CANCEL)
        await said(env, owner, "已取消", since)

    seen.after = owner_can_still_cancel
    return seen


async def press_on_others_reminder(env: Env, role: str) -> Observed:
    user, chat = ROLES[role]
    target, data = (
        (env.reminders[10], "r:10:in_progress")
        if user == A
        else (env.reminders[2], "r:2:in_progress")
    )
    seen = snapshot(env, chat)
    seen.query = env.api.press_button(user, target.message_id, data, chat_id=target.chat_id)
    return seen


async def press_on_claim(env: Env, role: str, action: str) -> Observed:
    """Unit B claims task 10 done (a waiting claim, stored before the snapshot); the role
    presses `action` (va 销号 / vr 退回) on it."""
    svc = env.bot.svc
    with svc.db.session() as s:
        task = s.exec(select(Task).where(Task.number == 10)).one()
        report = repo.add_report(
            s,
            task_id=task.id or 0,
            unit_id=env.unit_ids[UNIT_B],
            contact_id=None,
            reporter_user_id=B,
            status=Status.DONE,
            note="已办结",
            now=svc.now(),
        )
        review_id = repo.open_claim(s, report=report, now=svc.now(), review=True).id
    return await press(env, role, f"{action}:{review_id}")


async def command(env: Env, role: str, text: str, *, in_group: bool = False) -> Observed:
    user, chat = ROLES[role]
    chat = GROUP if in_group else chat
    seen = snapshot(env, chat)
    env.api.send_text(user, text, chat_id=chat)
    return seen


async def redeem_other_units_code(env: Env, role: str) -> Observed:
    code = await env.bot.invite_code(OTHER_UNIT)
    seen = await command(env, role, f"/start {code}")
    seen.code = code
    return seen


ACTIONS: dict[str, Callable[[Env, str], Awaitable[Observed]]] = {
    "/start": lambda env, role: command(env, role, "/start"),
    "/start <code of another unit>": redeem_other_units_code,
    "/help": lambda env, role: command(env, role, "/help"),
    "/whoami": lambda env, role: command(env, role, "/whoami"),
    "/invite <unit A>": lambda env, role: command(env, role, f"/invite {UNIT_A}"),
    "/units": lambda env, role: command(env, role, "/units"),
    "/export": lambda env, role: command(env, role, "/export"),
    "/export_files": lambda env, role: command(env, role, "/export_files"),
    "/evaluate": lambda env, role: command(env, role, "/evaluate"),
    "/notice <unit A>": lambda env, role: command(env, role, f"/notice {UNIT_A}"),
    "/bulletin": lambda env, role: command(env, role, "/bulletin"),
    "/indicators": lambda env, role: command(env, role, "/indicators"),
    "/indicator 3 2024 100 <source>": lambda env, role: command(
        env, role, "/indicator 3 2024 100 区民政局年度统计"
    ),
    "/task 2": lambda env, role: command(env, role, "/task 2"),
    "/task 10": lambda env, role: command(env, role, "/task 10"),
    "/unit <unit B>": lambda env, role: command(env, role, f"/unit {UNIT_B}"),
    "/deadline 10 2026-06-30": lambda env, role: command(env, role, "/deadline 10 2026-06-30"),
    "/rename_unit <unit B> 新名称": lambda env, role: command(
        env, role, f"/rename_unit {UNIT_B} 国家税务总局潼南税务局"
    ),
    "/merge_unit <other unit> <unit B>": lambda env, role: command(
        env, role, f"/merge_unit {OTHER_UNIT} {UNIT_B}"
    ),
    "button uc:ok (no preview)": lambda env, role: press(env, role, "uc:ok:0123abcd"),
    "/backfill 2 <unit A> 已完成 2023-06-30 说明": lambda env, role: command(
        env, role, f"/backfill 2 {UNIT_A} 已完成 2023-06-30 低保核查已完成"
    ),
    "button bf:ok (no preview)": lambda env, role: press(env, role, "bf:ok:0123abcd"),
    "/rhythm": lambda env, role: command(env, role, "/rhythm"),
    "/milestone 10": lambda env, role: command(env, role, "/milestone 10"),
    "/close_plan 十四五": lambda env, role: command(env, role, "/close_plan 十四五"),
    "button pc:close (no preview)": lambda env, role: press(env, role, "pc:close:0123abcd"),
    "/digest": lambda env, role: command(env, role, "/digest"),
    "/digest_groups (no group robot configured)": lambda env, role: command(
        env, role, "/digest_groups"
    ),
    "/digest@canggongwei_bot in group": lambda env, role: command(
        env, role, "/digest@canggongwei_bot", in_group=True
    ),
    "/report": lambda env, role: command(env, role, "/report"),
    "/cancel": lambda env, role: command(env, role, "/cancel"),
    "/skip": lambda env, role: command(env, role, "/skip"),
    "button r:2:in_progress": lambda env, role: press(env, role, "r:2:in_progress"),
    "button t:2 after /report": lambda env, role: task_button_after_report(env, role, 2),
    "button t:10 after /report": lambda env, role: task_button_after_report(env, role, 10),
    "button r:10:done": lambda env, role: press(env, role, "r:10:done"),
    "button r:14:done": lambda env, role: press(env, role, "r:14:done"),
    "confirm button of someone else's draft": confirm_others_draft,
    "press on someone else's reminder": press_on_others_reminder,
    "/roles": lambda env, role: command(env, role, "/roles"),
    "/add_leader <newcomer>": lambda env, role: command(env, role, f"/add_leader {NEWCOMER} 赵新"),
    "/add_coordinator <newcomer>": lambda env, role: command(
        env, role, f"/add_coordinator {NEWCOMER} 赵新"
    ),
    "/remove_leader <leader>": lambda env, role: command(env, role, f"/remove_leader {LEADER}"),
    "/remove_coordinator <config coordinator>": lambda env, role: command(
        env, role, f"/remove_coordinator {COORDINATOR}"
    ),
    "/contacts <unit A>": lambda env, role: command(env, role, f"/contacts {UNIT_A}"),
    "/remove_contact <unit B> 张华": lambda env, role: command(
        env, role, f"/remove_contact {UNIT_B} 张华"
    ),
    "/handover <unit B>": lambda env, role: command(env, role, f"/handover {UNIT_B}"),
    "button pc:rm (contact B)": lambda env, role: press(env, role, f"pc:rm:{contact_id(env, B)}"),
    "/stats": lambda env, role: command(env, role, "/stats"),
    "/review": lambda env, role: command(env, role, "/review"),
    "/stats in group": lambda env, role: command(env, role, "/stats", in_group=True),
    "button va:<claim> (销号)": lambda env, role: press_on_claim(env, role, "va"),
    "button vr:<claim> (退回)": lambda env, role: press_on_claim(env, role, "vr"),
}


def pressing(data: str) -> Callable[[Env, str], Awaitable[Observed]]:
    """The action of pressing a button carrying `data`."""
    return lambda env, role: press(env, role, data)


ACTIONS.update(
    {
        "/items": lambda env, role: command(env, role, "/items"),
        **{
            f"button {data} (no item)": pressing(data)
            for data in ("ci:a:999", "ci:d:999", "ci:c:999", "ci:s:999", "ci:u:999:1")
        },
        "button ci:r:999 (reply marker)": pressing("ci:r:999"),
    }
)
assert set(ACTIONS) == set(MATRIX)


@pytest.mark.parametrize(("role", "action", "expected"), ROWS)
async def test_access(
    env: Env, role: str, action: str, expected: Expect, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    api = env.api
    await reset(env)
    user, home = ROLES[role]
    seen = await ACTIONS[action](env, role)

    if expected.via == "chat" and expected.outcome != "silent":
        await said(env, seen.chat, expected.text, seen.since)
    if seen.query is not None:
        answer = await api.wait_for_call(
            "answerCallbackQuery",
            lambda c: c.params.get("callback_query_id") == seen.query,
            since=seen.calls,
        )
        shown = str(answer.params.get("text") or "")
        alert = bool(answer.params.get("show_alert"))
        if expected.via in ("alert", "toast"):
            assert expected.text in shown, f"press answered {shown!r}"
            assert alert == (expected.via == "alert"), f"show_alert={alert}"
        else:
            assert not alert, f"an allowed press was answered with an alert: {shown!r}"
    await api.wait_idle(quiet=0.25 if expected.outcome == "silent" else 0.05)
    if expected.outcome == "silent" or expected.via in ("alert", "toast"):
        chats = {seen.chat, user, home}
        posted = [m.plain_text[:80] for m in api.sent[seen.since :] if m.chat_id in chats]
        assert posted == [], f"expected no message, the bot said {posted}"

    after = counts(env)
    if expected.outcome == "allowed":
        want = tuple(b + d for b, d in zip(seen.before, expected.stored, strict=True))
        assert after == want, f"rows (reports, invites, contacts, audit): {seen.before} -> {after}"
    else:
        assert after == seen.before, f"something was stored: {seen.before} -> {after}"
    if action.startswith("/deadline") and expected.outcome != "allowed":
        assert deadline_10(env) == env.deadline_10, "the deadline changed"
    if seen.code is not None:
        with env.bot.svc.db.session() as s:
            invite = s.exec(select(Invite).where(Invite.code == seen.code)).one()
        units = contact_units(env)
        if expected.outcome == "allowed":
            assert invite.used_by == user
            assert units.get(user) == env.unit_ids[OTHER_UNIT]
        else:
            assert invite.used_by is None and user not in units
    if seen.after is not None:
        await seen.after()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors]
