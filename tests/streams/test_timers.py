from __future__ import annotations

from anlan.events import Level
from streams.timers import SilenceWatch, maintenance_messages
from tests.streams.support import registry

T = 1_800_000_000.0


def test_silent_sensor_then_gateway_once_each_and_cleared() -> None:
    reg = registry()
    watch = SilenceWatch()
    watch.heard_from("gw-1", ["rg-1", "rg-2", "tp-1", "wl-1"], T)
    assert watch.check("gw-1", reg, T + 800) == []  # < 3 × 300 s
    watch.heard_from("gw-1", ["rg-1", "rg-2", "tp-1"], T + 600)  # wl-1 stays silent
    opened = watch.check("gw-1", reg, T + 1000)
    assert [o.subject for o in opened] == ["sensor:wl-1"]
    assert watch.check("gw-1", reg, T + 1100) == []  # once per outage
    gw = watch.check("gw-1", reg, T + 1600)
    assert [o.subject for o in gw] == ["gateway:gw-1"]
    assert watch.check("gw-1", reg, T + 5000) == []
    ended = watch.heard_from("gw-1", ["wl-1"], T + 6000)
    assert sorted(o.subject for o in ended) == ["gateway:gw-1", "sensor:wl-1"]
    assert watch.heard_from("gw-1", ["wl-1"], T + 100) == []  # a replay ends nothing


def test_offline_status_opens_once_and_online_ends() -> None:
    watch = SilenceWatch()
    opened = watch.status("gw-1", "360121100001", False, T)
    assert [o.reason for o in opened] == ["gateway offline"]
    assert watch.status("gw-1", "360121100001", False, T + 1) == []
    assert watch.check("gw-1", registry(), T + 10_000) == []  # offline: no silence outage too
    ended = watch.status("gw-1", "360121100001", True, T + 50)
    assert len(ended) == 1 and not watch.offline
    restored = SilenceWatch.from_dict(watch.to_dict())
    assert restored.status("gw-1", "360121100001", False, T) == []  # old status replayed


def test_maintenance_messages_are_deterministic() -> None:
    watch = SilenceWatch()
    outage = watch.status("gw-1", "360121100001", False, T)[0]
    alert, task = maintenance_messages(outage, True, T)
    assert alert.msg_type == "Alert" and alert.level == Level.IV and alert.status == "System"
    assert alert.notify[0] == {"role": "technician", "tier": "grid"}
    assert task is not None and task.kind == "maintenance"
    cancel, none = maintenance_messages(outage, False, T + 60)
    assert cancel.msg_type == "Cancel" and cancel.references == [alert.alert_id] and none is None
    assert alert.alert_id.startswith("maintenance:gateway-gw-1:")
