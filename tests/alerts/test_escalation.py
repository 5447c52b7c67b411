from datetime import timedelta

from alerts.escalation import (
    after_escalation,
    after_renotify,
    escalated_notify,
    initial_timers,
    max_step,
    top_tier,
)
from tests.alerts.helpers import DAY

PLAN = [{"role": "grid_worker", "tier": "grid"}, {"role": "leader", "tier": "community"}]


def test_escalation_climbs_one_tier_per_step() -> None:
    assert top_tier(PLAN) == "community"
    assert escalated_notify(PLAN, 0) == PLAN
    assert escalated_notify(PLAN, 1) == [{"role": "duty_officer", "tier": "township"},
                                         {"role": "leader", "tier": "township"}]
    assert escalated_notify(PLAN, 2)[0]["tier"] == "county"
    assert escalated_notify(PLAN, 5)[0]["tier"] == "county"  # capped
    assert max_step(PLAN) == 2
    assert max_step([{"role": "duty_officer", "tier": "county"}]) == 1


def test_schedule() -> None:
    t = initial_timers(DAY, 300, 120)
    assert t.next_escalate_at == DAY + timedelta(seconds=300)
    assert t.next_renotify_at == DAY + timedelta(seconds=120)
    assert initial_timers(DAY, None, None).next_escalate_at is None
    assert after_escalation(DAY, 1, PLAN, 300) == DAY + timedelta(seconds=300)
    assert after_escalation(DAY, 2, PLAN, 300) is None  # nothing above the county
    assert after_renotify(DAY, 60) == DAY + timedelta(seconds=60)
    assert after_renotify(DAY, None) is None
