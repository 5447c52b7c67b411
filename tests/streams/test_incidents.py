from __future__ import annotations

from typing import Any

from anlan.events import Command, Level, Signal
from anlan.exercise import EXERCISE_PREFIX
from streams.incidents import (
    LevelActions,
    PlanView,
    Slot,
    Target,
    TaskSpec,
    apply_command,
    apply_signal,
    command_target,
    incident_slot_key,
    parse_target,
)
from streams.incidents.machine import Outputs
from tests.streams.support import at

PLAN = PlanView(plan_id="rainstorm", hazard="rainstorm", name="暴雨", levels={
    Level.IV: LevelActions(notify=({"role": "grid_worker", "tier": "grid"},), ack_timeout_s=1800,
                           instruction="注意防范"),
    Level.III: LevelActions(notify=({"role": "duty_officer", "tier": "township"},),
                            tasks=(TaskSpec(kind="welfare_check", title="走访独居老人"),)),
    Level.II: LevelActions(tasks=(TaskSpec(kind="mobilization", title="集结志愿者", quota=5,
                                           skills=("rescue",), deadline_s=3600),)),
    Level.I: LevelActions(headline="暴雨红色预警", tasks=(
        TaskSpec(kind="evacuation", title="转移群众"),)),
})
REGION = "360121100001-G1"


def sig(level: Level, minute: float, previous: Level = Level.NONE,
        exercise: bool = False) -> Signal:
    return Signal(plan="rainstorm", region=REGION, previous=previous, level=level, ts=at(minute),
                  evidence={"summary": f"level {level.value}"}, exercise=exercise)


def cmd(kind: str, target: str, cid: str, **detail: Any) -> Command:
    return Command(command_id=cid, kind=kind, target=target, actor="duty-1", ts=at(500),
                   detail=detail)


def run(slot: Slot, *signals: Signal) -> list[Outputs]:
    return [apply_signal(slot, s, PLAN) for s in signals]


def test_storm_lifecycle_one_alert_per_change() -> None:
    slot = Slot(plan="rainstorm", region=REGION)
    outs = run(slot, sig(Level.IV, 0), sig(Level.III, 10), sig(Level.II, 20), sig(Level.I, 30),
               sig(Level.II, 90), sig(Level.NONE, 200))
    alerts = [a for o in outs for a in o.alerts]
    assert [(a.msg_type, a.level) for a in alerts] == [
        ("Alert", Level.IV), ("Update", Level.III), ("Update", Level.II), ("Update", Level.I),
        ("Update", Level.II), ("Cancel", Level.NONE)]
    incident = "rainstorm:360121100001-G1:20260720T000000Z"
    assert [a.alert_id for a in alerts] == [f"{incident}#{i}" for i in range(1, 7)]
    assert alerts[3].references == [f"{incident}#{i}" for i in range(1, 4)]
    assert alerts[0].notify == [{"role": "grid_worker", "tier": "grid"}]
    assert alerts[0].ack_timeout_s == 1800 and alerts[0].instruction == "注意防范"
    assert alerts[3].headline == "暴雨红色预警" and "红色" in alerts[3].headline
    assert "黄色" in alerts[1].headline
    changes = [e.change for o in outs for e in o.incidents]
    assert changes == ["opened", "escalated", "escalated", "escalated", "de-escalated",
                       "cleared"]
    tasks = [t for o in outs for t in o.tasks]
    assert [t.kind for t in tasks] == ["welfare_check", "mobilization", "evacuation"]
    assert tasks[1].quota == 5 and tasks[1].deadline is not None
    assert slot.current is None and slot.closed == [incident]


def test_replayed_signals_are_no_ops() -> None:
    slot = Slot(plan="rainstorm", region=REGION)
    run(slot, sig(Level.IV, 0), sig(Level.III, 10))
    restored = Slot.from_dict(slot.to_dict())
    assert not any(run(restored, sig(Level.IV, 0), sig(Level.III, 10)))
    assert restored.to_dict() == slot.to_dict()


def test_a_level_announced_with_an_older_onset_after_a_backlog_still_moves_the_incident() -> None:
    slot = Slot(plan="rainstorm", region=REGION)
    run(slot, sig(Level.IV, 100))
    (out,) = run(slot, sig(Level.III, 40, previous=Level.IV))  # re-assessed: III since minute 40
    assert [a.level for a in out.alerts] == [Level.III]
    assert out.alerts[0].onset == at(40)


def test_a_late_crossing_is_a_notice_to_the_duty_officers_only() -> None:
    slot = Slot(plan="rainstorm", region=REGION)
    run(slot, sig(Level.IV, 0))
    late = Signal(plan="rainstorm", region=REGION, previous=Level.III, level=Level.II,
                  ts=at(30), late=True, detected=at(300), evidence={"summary": "backlog"})
    (out,) = run(slot, late)
    (alert,) = out.alerts
    assert alert.late and alert.msg_type == "Update" and alert.level == Level.II
    assert alert.onset == at(30) and alert.detected == at(300)
    assert alert.notify == [{"role": "duty_officer", "tier": "township"}]  # nobody else
    assert "补报" in alert.headline and not out.tasks  # no volunteers, no evacuation
    assert [e.change for e in out.incidents] == ["late_notice"]
    assert slot.current is not None and slot.current.level == Level.IV  # the level in force
    assert not any(run(slot, late))  # once


def test_a_late_crossing_without_an_open_incident_is_recorded_closed() -> None:
    slot = Slot(plan="rainstorm", region=REGION)
    late = Signal(plan="rainstorm", region=REGION, previous=Level.NONE, level=Level.III,
                  ts=at(30), late=True, detected=at(300))
    (out,) = run(slot, late)
    assert out.alerts[0].msg_type == "Alert" and out.alerts[0].late
    assert out.incidents[0].status == "resolved" and slot.current is None


def test_same_input_same_ids_without_state() -> None:
    a, b = Slot(plan="rainstorm", region=REGION), Slot(plan="rainstorm", region=REGION)
    out_a = run(a, sig(Level.III, 0), sig(Level.I, 10))
    out_b = run(b, sig(Level.III, 0), sig(Level.I, 10))
    assert [x.alerts[0].to_bytes() for x in out_a] == [x.alerts[0].to_bytes() for x in out_b]


def test_escalating_back_does_not_repeat_tasks() -> None:
    slot = Slot(plan="rainstorm", region=REGION)
    outs = run(slot, sig(Level.III, 0), sig(Level.IV, 60), sig(Level.III, 120))
    assert [len(o.tasks) for o in outs] == [1, 0, 0]


def test_ack_resolve_and_duplicates() -> None:
    slot = Slot(plan="rainstorm", region=REGION)
    run(slot, sig(Level.III, 0))
    incident = slot.current.incident_id  # type: ignore[union-attr]
    ack = apply_command(slot, cmd("ack", incident, "c1"), PLAN)
    assert [e.change for e in ack.incidents] == ["acknowledged"] and not ack.alerts
    assert not apply_command(slot, cmd("ack", incident, "c1"), PLAN)  # same command again
    assert not apply_command(slot, cmd("ack", incident, "c2"), PLAN)  # already acknowledged
    resolved = apply_command(slot, cmd("resolve", incident, "c3"), PLAN)
    assert [e.change for e in resolved.incidents] == ["resolved"]
    assert resolved.alerts[0].msg_type == "Cancel"
    assert resolved.alerts[0].references == [f"{incident}#1"]
    assert not apply_command(slot, cmd("ack", incident, "c4"), PLAN)  # late, closed: no-op
    unknown = apply_command(slot, cmd("ack", "rainstorm:other:20260101T000000Z", "c5"), PLAN)
    assert unknown.rejected and "no open incident" in unknown.rejected


def test_manual_escalation_sets_a_floor() -> None:
    slot = Slot(plan="rainstorm", region=REGION)
    run(slot, sig(Level.IV, 0))
    incident = slot.current.incident_id  # type: ignore[union-attr]
    up = apply_command(slot, cmd("escalate", incident, "c1"), PLAN)
    assert [(a.msg_type, a.level) for a in up.alerts] == [("Update", Level.III)]
    assert not run(slot, sig(Level.NONE, 100))[0]  # automatic clear held by the manual floor
    assert slot.current is not None and slot.current.level == Level.III
    higher = run(slot, sig(Level.I, 110))[0]
    assert higher.alerts[0].level == Level.I
    bad = apply_command(slot, cmd("escalate", incident, "c2", level="purple"), PLAN)
    assert bad.rejected


def test_manual_alert_and_drill_open_an_incident() -> None:
    slot = Slot(plan="rainstorm", region=REGION)
    out = apply_command(slot, cmd("manual_alert", f"rainstorm:{REGION}", "m1", level="orange"),
                        PLAN)
    assert [(a.msg_type, a.level, a.status) for a in out.alerts] == [
        ("Alert", Level.II, "Actual")]
    drill_slot = Slot(plan="rainstorm", region=REGION, exercise=True)
    drill = apply_command(drill_slot, cmd("drill", f"EXERCISE:rainstorm:{REGION}", "d1",
                                          level="IV"), PLAN)
    assert drill.alerts[0].status == "Exercise" and drill.incidents[0].exercise
    assert drill.alerts[0].incident_id.startswith(EXERCISE_PREFIX)
    drill_slot = Slot(plan="rainstorm", region=REGION, exercise=True)
    drill = apply_command(drill_slot, cmd("drill", f"rainstorm:{REGION}", "d2", level="II"), PLAN)
    assert drill.tasks and all(t.exercise for t in drill.tasks)
    assert not out.tasks[0].exercise  # a real manual alert's task is real


def test_targets_and_slot_keys_carry_the_scope() -> None:
    assert parse_target(f"rainstorm:{REGION}") == Target("rainstorm", REGION, False)
    assert parse_target(f"EXERCISE:rainstorm:{REGION}:20260720T000000Z") == \
        Target("rainstorm", REGION, True)
    assert parse_target("EXERCISE:rainstorm") is None
    # a drill command acts in the exercise scope whatever it names
    assert command_target("drill", f"rainstorm:{REGION}:20260720T000000Z") == \
        Target("rainstorm", REGION, True)
    assert command_target("ack", f"EXERCISE:rainstorm:{REGION}") == \
        Target("rainstorm", REGION, True)
    assert incident_slot_key("rainstorm", REGION) == f"rainstorm:{REGION}"
    assert incident_slot_key("rainstorm", REGION, True) == f"EXERCISE:rainstorm:{REGION}"
    slot = Slot(plan="rainstorm", region=REGION, exercise=True)
    assert Slot.from_dict(slot.to_dict()) == slot


def test_a_drill_never_raises_updates_or_cancels_a_real_incident() -> None:
    real = Slot(plan="rainstorm", region=REGION)
    blue = run(real, sig(Level.IV, 0))[0].alerts[0]
    assert (blue.status, blue.incident_id) == ("Actual", f"rainstorm:{REGION}:20260720T000000Z")
    before = real.to_dict()
    # the drill's signals and commands are the drill slot's: the real one ignores or refuses them
    assert not run(real, sig(Level.I, 10, exercise=True), sig(Level.NONE, 20, exercise=True))[1]
    for kind, target in (("drill", f"rainstorm:{REGION}"), ("drill", blue.incident_id),
                         ("ack", f"EXERCISE:{blue.incident_id}"),
                         ("resolve", f"EXERCISE:rainstorm:{REGION}")):
        refused = apply_command(real, cmd(kind, target, f"{kind}-{target}", level="I"), PLAN)
        assert refused.rejected and not (refused.alerts or refused.tasks or refused.incidents)
    assert real.to_dict() == before
    # the drill runs in its own slot: its own incident, Exercise alerts, exercise tasks
    drill = Slot(plan="rainstorm", region=REGION, exercise=True)
    outs = run(drill, sig(Level.IV, 5, exercise=True), sig(Level.I, 10, exercise=True))
    alerts = [a for o in outs for a in o.alerts]
    assert [(a.msg_type, a.level, a.status) for a in alerts] == [
        ("Alert", Level.IV, "Exercise"), ("Update", Level.I, "Exercise")]
    assert {a.incident_id for a in alerts} == {f"EXERCISE:rainstorm:{REGION}:20260720T000500Z"}
    tasks = [t for o in outs for t in o.tasks]
    assert tasks and all(t.exercise and t.task_id.startswith(EXERCISE_PREFIX) for t in tasks)
    assert all(e.exercise for o in outs for e in o.incidents)


def test_a_real_crossing_during_a_drill_is_actual() -> None:
    drill = Slot(plan="rainstorm", region=REGION, exercise=True)
    run(drill, sig(Level.I, 0, exercise=True))
    drill_state = drill.to_dict()
    real = Slot(plan="rainstorm", region=REGION)
    outs = run(real, sig(Level.III, 10), sig(Level.NONE, 100, Level.III))
    alerts = [a for o in outs for a in o.alerts]
    assert [(a.msg_type, a.level, a.status) for a in alerts] == [
        ("Alert", Level.III, "Actual"), ("Cancel", Level.NONE, "Actual")]
    assert not any(a.incident_id.startswith(EXERCISE_PREFIX) for a in alerts)
    assert [t.exercise for o in outs for t in o.tasks] == [False]
    assert not run(drill, sig(Level.III, 10))[0]  # a real signal never reaches the drill
    assert drill.to_dict() == drill_state


def test_alerts_carry_the_plan_levels_cap_fields_and_renotify_interval() -> None:
    cap = {"category": ["Met"], "urgency": "Expected", "certainty": "Likely",
           "response_type": ["Prepare", "Monitor"]}
    plan = PlanView(plan_id="rainstorm", hazard="rainstorm", name="暴雨", levels={
        Level.IV: LevelActions(notify=({"role": "grid_worker", "tier": "grid"},),
                               ack_timeout_s=1800, renotify_s=600, cap=cap)})
    slot = Slot(plan="rainstorm", region=REGION)
    issued = apply_signal(slot, sig(Level.IV, 0), plan).alerts[0]
    assert issued.evidence["cap"] == cap and issued.evidence["renotify_interval_s"] == 600
    assert issued.evidence["summary"] == "level IV"  # the trigger's evidence is kept
    cancel = apply_signal(slot, sig(Level.NONE, 200, Level.IV), plan).alerts[0]
    assert cancel.msg_type == "Cancel" and cancel.evidence["cap"]["category"] == ["Met"]


def test_shipped_plans_give_every_level_its_cap_fields() -> None:
    from anlan.settings import load_settings
    from streams.app import load_book

    book = load_book(load_settings())
    for plan_id in book.plans:
        view = book.view(plan_id, REGION)
        for level in (Level.IV, Level.III, Level.II, Level.I):
            actions = view.actions(level)
            if actions.notify:
                assert actions.cap["category"] and actions.cap["response_type"], plan_id
    gale = book.view("gale", REGION)
    assert any(gale.actions(level).renotify_s for level in gale.levels)
