"""The README's first command: `taskbot demo` plays Monday 2026-12-07 (the coordinator's first
working day with the bot) with the shipped plan, from the held follow-up to the digest."""

from __future__ import annotations

from standin.demo import run_demo


async def test_the_demo_plays_the_first_day_of_a_plan_whose_period_ended() -> None:
    transcript = await run_demo()
    assert "逾期提醒已暂停" in transcript
    assert "暂停已解除" in transcript
    assert "已逾期" not in transcript  # nothing stale once the new deadlines are set
    assert transcript.count("✅ 已记录。") == 2
    assert "完成时限：2026年12月21日（还有14天）" in transcript
    assert "督办汇总" in transcript and "🔴0" in transcript
