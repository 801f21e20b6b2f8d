"""The /stats answer (`bot.stats_view.stats_text`) stays one message: many units and many
late tasks are cut with a pointer to the ledger."""

from __future__ import annotations

from datetime import date

from bot.stats_view import MAX_LATE, MAX_UNITS, stats_text
from jobs.stats import Counts, PlanStats


def test_long_lists_are_cut() -> None:
    units = {f"单位{i:02d}甲乙丙丁戊己庚辛壬癸": Counts(total=3, accepted=i % 4) for i in range(60)}
    late = tuple((n, f"单位{n:02d}甲乙丙丁戊己庚辛壬癸") for n in range(1, 41))
    stats = PlanStats(
        as_of=date(2026, 12, 6),
        pairs=Counts(
            total=180, accepted=90, reminders=7, answered_reminders=2, reminder_working_days=5
        ),
        tasks=Counts(total=40, accepted=20),
        units=units,
        late=late,
    )
    text = stats_text("十四五", stats)
    assert len(text) < 4096
    unit_lines = [line for line in text.splitlines() if line.startswith("单位")]
    assert len(unit_lines) == MAX_UNITS
    assert unit_lines[0].startswith("单位00")  # done rate 0 first
    assert f"另有{60 - MAX_UNITS}个单位" in text and "/export" in text
    assert f"第{MAX_LATE}项" in text and f"第{MAX_LATE + 1}项" not in text and "等40项" in text
    assert "提醒到反馈平均用时2.5个工作日" in text
