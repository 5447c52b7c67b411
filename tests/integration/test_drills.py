"""Drills are exercises end to end, on real services.

Gateway readings over Mosquitto — real ones on ``anlan/v1/gw/…``, a drill's on the exercise
namespace ``anlan/v1/exercise/gw/…`` for the *same* gateway, sensor and times — through the
bridge, one Faust worker and the dispatcher (Apprise ``json://`` to a local receiver). Checked
on what comes out: the alerts on ``anlan.alerts`` (status, ids), the delivered messages (【演练】)
and the CAP documents the dispatcher stored (``<status>``, note, headlines), and the tasks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import paho.mqtt.client as mqtt
import psycopg
import pytest

from alerts.cap import CAP_NS, identifier_for
from anlan import topics
from anlan.events import Alert, Command, Level, Task
from anlan.exercise import EXERCISE_PREFIX, EXERCISE_TAG
from anlan.settings import Settings
from anlan.stack.receiver import NotificationReceiver
from sensors.contract import readings_topic
from tests.alerts.conftest import quiet_timers
from tests.streams.harness import (
    Child,
    alerts_of,
    collect,
    produce,
    rain_plans_dir,
    run,
    unique_registry,
)

pytestmark = pytest.mark.integration

Layout = dict[str, tuple[str, list[str]]]
NS = {"cap": CAP_NS}
STEP = timedelta(minutes=15)


@dataclass
class Drills:
    settings: Settings
    layout: Layout
    receiver: NotificationReceiver


@pytest.fixture(scope="module")
def drills(make_settings: Callable[..., Settings], database_url: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drills]:
    """A worker, a bridge and a dispatcher sending every alert to a local receiver."""
    workdir = tmp_path_factory.mktemp("drills")
    sensors, layout = unique_registry(workdir)
    settings = make_settings(plans_dir=rain_plans_dir(workdir), sensors_file=sensors)
    receiver = NotificationReceiver(lambda payload: None).start()
    quiet_timers(database_url)  # the dispatcher's timers are the database's: ours only
    with pytest.MonkeyPatch.context() as env:  # what the dispatcher needs beyond the harness
        env.setenv("ANLAN_DATABASE_URL", database_url)
        env.setenv("ANLAN_DEFAULT_NOTIFY_URLS", json.dumps([receiver.url]))
        dispatch = Child("dispatch", settings, workdir).start(wait=False)
    worker = Child("worker", settings, workdir).start(wait=False)
    bridge = Child("bridge", settings, workdir).start(wait=False)
    try:
        for child in (worker, bridge, dispatch):
            child.wait_ready()
        yield Drills(settings, layout, receiver)
    finally:
        for child in (bridge, worker, dispatch):
            child.stop()
        receiver.stop()


def _now() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)


def _publish(settings: Settings, gateway: str, sensor: str, rain: list[tuple[datetime, float]],
             exercise: bool) -> None:
    """One gateway message per reading, on the real or the drill's topic of ``gateway``."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                         client_id=f"{gateway}-{'drill' if exercise else 'real'}-{time.time()}")
    client.connect(settings.mqtt_host, settings.mqtt_port)
    client.loop_start()
    seq0 = int(time.time() * 1000)
    try:
        for i, (ts, mm) in enumerate(rain):
            body = {"seq": seq0 + i, "readings": [
                {"sensor": sensor, "ts": ts.isoformat(), "kind": "rain_mm", "value": mm}]}
            info = client.publish(readings_topic(gateway, exercise), json.dumps(body), qos=1)
            info.wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()


def _rain(end: datetime, hours: float, mm_per_step: float) -> list[tuple[datetime, float]]:
    steps = int(hours * 3600 / STEP.total_seconds())
    return [(end - STEP * (steps - 1 - i), mm_per_step) for i in range(steps)]


STEADY = 1.75  # 7 mm/h: ≥ 50 mm in 12 h (blue), never 50 mm in 6 h
DOWNPOUR = 10.0  # 40 mm/h: 50 mm in 3 h (orange) after 75 min, 100 mm in 3 h (red) after 150


def _alerts(d: Drills, region: str, done: Callable[[list[Alert]], bool] | None = None
            ) -> list[Alert]:
    """The region's rainstorm alerts once ``done`` says so; without ``done``: all of them after
    a few more seconds (what a drill might still do to a real incident shows by then)."""
    until = (lambda v: False) if done is None else \
        (lambda v: done([a for a in alerts_of(v) if a.region == region]))
    values = run(collect(d.settings, topics.ALERTS, until, timeout=60 if done else 4))
    return [a for a in alerts_of(values) if a.region == region]


def _drill(alerts: list[Alert]) -> list[Alert]:
    return [a for a in alerts if a.incident_id.startswith(EXERCISE_PREFIX)]


def _real(alerts: list[Alert]) -> list[Alert]:
    return [a for a in alerts if not a.incident_id.startswith(EXERCISE_PREFIX)]


def _delivered(d: Drills, alerts: list[Alert], timeout: float = 30.0) -> dict[str, str]:
    """alert id → the message the dispatcher delivered for it (title and body)."""
    wanted = {identifier_for(a): a.alert_id for a in alerts}
    deadline = time.monotonic() + timeout
    while True:
        found = {wanted[ident]: f"{m.get('title', '')}\n{m.get('message', '')}"
                 for m in d.receiver.snapshot() for ident in wanted
                 if ident in str(m.get("message", ""))}
        if len(found) == len(wanted) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _caps(d: Drills, alerts: list[Alert]) -> dict[str, ET.Element]:
    with psycopg.connect(d.settings.database_url) as conn:
        rows = conn.execute("SELECT alert_id, cap_xml FROM dispatch_alerts "
                            "WHERE alert_id = ANY(%s)", ([a.alert_id for a in alerts],)).fetchall()
    return {alert_id: ET.fromstring(xml) for alert_id, xml in rows}


def _tasks(d: Drills, incidents: set[str]) -> list[Task]:
    values = run(collect(d.settings, topics.TASKS, lambda v: False, timeout=3))
    return [t for t in map(Task.from_bytes, values) if t.incident_id in incidents]


def _check_scope(d: Drills, alerts: list[Alert], exercise: bool) -> None:
    """Status, delivered text and stored CAP of ``alerts`` all say drill, or all say real."""
    assert {a.status for a in alerts} == {"Exercise" if exercise else "Actual"}
    messages = _delivered(d, alerts)
    assert set(messages) == {a.alert_id for a in alerts}, "an alert was not delivered"
    for text in messages.values():
        title, body = text.split("\n", 1)
        assert title.startswith(EXERCISE_TAG) == exercise and \
            body.startswith(EXERCISE_TAG) == exercise, text
        assert (EXERCISE_TAG in text) == exercise, text
    caps = _caps(d, alerts)
    assert set(caps) == {a.alert_id for a in alerts}
    for root in caps.values():
        assert root.findtext("cap:status", namespaces=NS) == ("Exercise" if exercise
                                                              else "Actual")
        assert (root.find("cap:note", NS) is not None) == exercise
        headline = root.findtext("cap:info/cap:headline", namespaces=NS) or ""
        assert headline.startswith(EXERCISE_TAG) == exercise, headline


def test_a_drill_during_a_real_level_leaves_the_real_incident_alone(drills: Drills) -> None:
    gateway = sorted(drills.layout)[1]
    region, (gauge,) = drills.layout[gateway]
    now = _now()
    # a real blue: 7 mm/h for 12 h on the gauge
    _publish(drills.settings, gateway, gauge, _rain(now - STEP, 12, STEADY), exercise=False)
    real = _alerts(drills, region, lambda a: bool(_real(a)))
    assert [(a.msg_type, a.level) for a in _real(real)] == [("Alert", Level.IV)]
    # the drill: a downpour on the same gateway, gauge and times — up to red
    _publish(drills.settings, gateway, gauge, _rain(now, 3, DOWNPOUR), exercise=True)
    alerts = _alerts(drills, region, lambda a: any(x.level == Level.I for x in _drill(a)))
    drill = _drill(alerts)
    assert [a.level for a in drill][-1] == Level.I and drill[0].msg_type == "Alert"
    assert len({a.incident_id for a in drill}) == 1
    # the real gauge goes on: its next reading, at the time of the drill's last one, is
    # assessed on the real readings only (the drill's downpour would make it red)
    _publish(drills.settings, gateway, gauge, [(now, STEADY)], exercise=False)
    alerts = _alerts(drills, region)
    assert [(a.msg_type, a.level, a.status) for a in _real(alerts)] == [
        ("Alert", Level.IV, "Actual")]  # the real incident untouched: no update, no red
    _check_scope(drills, _real(alerts), exercise=False)
    _check_scope(drills, _drill(alerts), exercise=True)
    tasks = _tasks(drills, {a.incident_id for a in alerts})
    assert tasks, "the drill's red level creates tasks"
    assert all(t.exercise and t.incident_id and t.incident_id.startswith(EXERCISE_PREFIX)
               for t in tasks)  # only the drill's, and exercise tasks (the real blue has none)


def test_a_real_crossing_during_a_drill_is_an_actual_alert(drills: Drills) -> None:
    gateway = sorted(drills.layout)[2]
    region, (gauge,) = drills.layout[gateway]
    now = _now()
    # the drill runs: a drill's blue on the gauge
    _publish(drills.settings, gateway, gauge, _rain(now - STEP, 12, STEADY), exercise=True)
    first = _alerts(drills, region, lambda a: bool(_drill(a)))
    assert [(a.msg_type, a.level) for a in _drill(first)] == [("Alert", Level.IV)]
    # a real downpour on the same gauge crosses orange and red meanwhile
    _publish(drills.settings, gateway, gauge, _rain(now, 3, DOWNPOUR), exercise=False)
    alerts = _alerts(drills, region, lambda a: any(x.level == Level.I for x in _real(a)))
    real = _real(alerts)
    assert real[0].msg_type == "Alert" and real[-1].level == Level.I
    alerts = _alerts(drills, region)
    assert [(a.msg_type, a.level, a.status) for a in _drill(alerts)] == [
        ("Alert", Level.IV, "Exercise")]  # the real rain never reached the drill
    _check_scope(drills, _real(alerts), exercise=False)
    _check_scope(drills, _drill(alerts), exercise=True)
    tasks = _tasks(drills, {a.incident_id for a in real})
    assert tasks and not any(t.exercise for t in tasks)  # real tasks for the real red


def test_the_apis_drill_command_opens_the_drills_incident_only(drills: Drills) -> None:
    gateway = min(drills.layout)
    region, (gauge, _) = drills.layout[gateway]
    _publish(drills.settings, gateway, gauge, _rain(_now(), 12, STEADY), exercise=False)
    real = _alerts(drills, region, lambda a: bool(_real(a)))
    assert [(a.msg_type, a.level) for a in _real(real)] == [("Alert", Level.IV)]
    # what POST /api/v1/alerts sends with exercise: true; and an older client's drill command
    # naming the real plan:region, which the worker puts in the exercise scope all the same
    commands = [Command(command_id=f"drill-{region}-{i}", kind="drill", target=target,
                        actor="duty-1", detail={"level": "I", "exercise": True})
                for i, target in enumerate((f"EXERCISE:rainstorm:{region}",
                                            f"rainstorm:{region}"))]
    run(produce(drills.settings, [(topics.COMMANDS, c.target, c.to_bytes()) for c in commands]))
    _alerts(drills, region, lambda a: bool(_drill(a)))
    alerts = _alerts(drills, region)
    assert [(a.msg_type, a.level, a.status) for a in _real(alerts)] == [
        ("Alert", Level.IV, "Actual")]
    assert [(a.msg_type, a.level, a.status) for a in _drill(alerts)] == [
        ("Alert", Level.I, "Exercise")]
    _check_scope(drills, _real(alerts), exercise=False)
    _check_scope(drills, _drill(alerts), exercise=True)
    tasks = _tasks(drills, {a.incident_id for a in alerts})
    assert tasks and all(t.exercise and t.incident_id == _drill(alerts)[0].incident_id
                         for t in tasks)
