"""The digest's picture as data: the traffic lights per lead unit (the bars of the chart the
Telegram layer draws, `bot/chart.py`). Pure; time passed in as the local date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from jobs.calendar import WorkingCalendar
from jobs.lights import SEVERITY, Light, LightPolicy, unit_light
from jobs.state import FollowUpState


@dataclass(frozen=True)
class UnitBar:
    """One lead unit's bar: how many of its (task, lead unit) pairs show each light.

    `counts` has every light of `SEVERITY` as a key (zeros included)."""

    unit_name: str
    counts: dict[Light, int]

    @property
    def total(self) -> int:
        """The number of tasks the unit leads in the chart."""
        return sum(self.counts.values())


def lights_by_unit(
    state: FollowUpState,
    today: date,
    policy: LightPolicy,
    calendar: WorkingCalendar,
    *,
    leave_out: Iterable[int] = (),
) -> tuple[UnitBar, ...]:
    """The lights of every lead unit on the followed-up tasks (active plans, those in
    `leave_out` excepted) at local date `today`, one bar per unit that leads at least one.

    Ordered worst first, as a committee member reads it: most red, then most yellow, then
    most without a report (⚪), then most tasks, then by name. Empty when no task is left."""
    skipped = set(leave_out)
    followed = state.followed_up()
    counts: dict[int, dict[Light, int]] = {}
    for task in followed.tasks:
        if task.plan_id in skipped:
            continue
        for unit_id in task.lead_unit_ids:
            light = unit_light(task, unit_id, followed, today, policy, calendar)
            row = counts.setdefault(unit_id, dict.fromkeys(SEVERITY, 0))
            row[light] += 1
    bars = [
        UnitBar(unit_name=state.units[unit_id].name, counts=row)
        for unit_id, row in counts.items()
        if unit_id in state.units
    ]
    bars.sort(
        key=lambda bar: (
            tuple(-bar.counts[light] for light in SEVERITY[:3]),
            -bar.total,
            bar.unit_name,
        )
    )
    return tuple(bars)
