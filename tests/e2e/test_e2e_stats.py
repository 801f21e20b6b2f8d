"""End to end through the stand-in: /stats answers a coordinator in private chat with the
statistics of the fixed data set (tests/stats_data.py) as of the bot's clock, 2025-12-17,
worked out by hand: tasks 1, 2, 3, 6 done (4/6 = 66.7%), on time against the deadline in
force 2 and 6 (33.3%), against the original 6 (16.7%); 超期办结 1 and 3; only task 5 open
and overdue (task 4's deadline moved to 2026-06-30); 8 pairs, 6 done (75.0%), 3 on time
(37.5%), one return, 12 reports over 8 x 10 half-year cycles (0.15), 5 reminder days.
"""

from __future__ import annotations

from standin.harness import COORDINATOR
from tests.conftest import BotHarness
from tests.stats_data import store_stats_sample


async def ask(bot: BotHarness, text: str) -> str:
    since = len(bot.api.sent)
    bot.api.send_text(COORDINATOR, text)
    answer = await bot.api.wait_for(lambda m: m.chat_id == COORDINATOR, since=since)
    await bot.api.wait_idle()
    return answer.plain_text


async def test_stats_of_the_sample_plan(bot: BotHarness) -> None:
    store_stats_sample(bot.svc.db)
    text = await ask(bot, "/stats 评估样例")
    assert "【评估样例】办理统计（截至2025年12月17日）" in text
    assert (
        "重点任务6项：办结4项，办结率66.7%；按时办结率33.3%（调整后期限，批量调整不计）"
        "/16.7%（原定期限）；超期办结2项，逾期未办结1项"
    ) in text
    assert (
        "按牵头单位分项（8项次）：办结率75.0%，按时办结率37.5%，退回1次；每报送周期反馈0.15次；提醒5次"
        in text
    )
    lines = text.splitlines()
    units = [
        line.split("：")[0] for line in lines[lines.index("牵头单位（按办结率由低到高）：") + 1 :]
    ]
    assert units[:5] == ["区人社局", "区卫健委", "区教育局", "区残联", "区民政局"]
    assert "区人社局：办结0/1（0.0%），按时0，超期办结0，逾期未办1" in text
    assert "区残联：办结2/2（100.0%），按时0，超期办结2，逾期未办0" in text
    assert "超期办结：第1项（区残联）、第3项（区残联、区教育局）" in text
    assert len(text) < 4096


async def test_stats_of_the_shipped_plan_fits_one_message(bot: BotHarness) -> None:
    text = await ask(bot, "/stats")
    assert "【十四五】办理统计" in text and "重点任务30项：办结0项" in text
    assert "提醒到反馈平均用时—" in text
    assert len(text) < 4096


async def test_stats_of_an_unknown_plan(bot: BotHarness) -> None:
    text = await ask(bot, "/stats 没有这个")
    assert "没有名为“没有这个”的规划" in text and "/stats 十四五" in text
