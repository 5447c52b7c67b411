from __future__ import annotations

from datetime import timedelta

from anlan.events import Alert, RawReading, RawReadings, Signal
from anlan.registry import Registry
from contingency_plans.loader import load_plans
from streams.assess import GatewayState, RegionState, process_message
from streams.assess.region import report_changes
from streams.incidents import Slot, apply_signal
from streams.plans import PlanBook
from tests.streams.scenario import check_lifecycle, storm
from tests.streams.support import T0, registry


def rain_book() -> PlanBook:
    plans = load_plans()
    return PlanBook(plans={"rainstorm": plans["rainstorm"]})


def _messages(gauges: list[str]) -> list[RawReadings]:
    return [RawReadings(gateway_id="gw-1", mqtt_topic="anlan/v1/gw/gw-1/readings",
                        received_at=ts + timedelta(seconds=5), seq=i,
                        readings=[RawReading(sensor=g, ts=ts, kind="rain_mm", value=mm)
                                  for g in gauges])
            for i, (ts, mm) in enumerate(storm(T0))]


class Pipeline:
    """The pure path, in memory: gateway state → region state → incident slots."""

    def __init__(self, reg: Registry, book: PlanBook) -> None:
        self.reg, self.book = reg, book
        self.gateways: dict[str, GatewayState] = {}
        self.regions: dict[str, RegionState] = {}
        self.slots: dict[str, Slot] = {}
        self.signals: list[Signal] = []
        self.alerts: list[Alert] = []
        self.changes = 0

    def feed(self, msg: RawReadings) -> None:
        state = self.gateways.setdefault(msg.gateway_id, GatewayState())
        out = process_message(state, msg, self.reg, self.book)
        self.changes += len(out.changes)
        for change in out.changes:
            region = self.regions.setdefault(change.region, RegionState())
            for sig in region.apply(change, self.reg, self.book):
                self.signals.append(sig)
                slot = self.slots.setdefault(sig.key, Slot(plan=sig.plan, region=sig.region))
                self.alerts += apply_signal(slot, sig, self.book.view(sig.plan, sig.region)).alerts


def test_rainstorm_lifecycle_one_alert_per_change() -> None:
    pipe = Pipeline(registry(), rain_book())
    messages = _messages(["rg-1"])
    for msg in messages[:20]:
        pipe.feed(msg)
    assert pipe.changes == 0  # quiet sensors send nothing to the region
    for msg in messages[20:]:
        pipe.feed(msg)
    check_lifecycle([a.level for a in pipe.alerts])
    assert [a.msg_type for a in pipe.alerts][:2] == ["Alert", "Update"]
    assert pipe.alerts[-1].msg_type == "Cancel"
    assert len({a.alert_id for a in pipe.alerts}) == len(pipe.alerts)
    red = pipe.alerts[3]
    assert red.headline == "360121100001-G1暴雨红色预警"
    assert "3h" in red.description and red.ack_timeout_s == 600
    assert {"role": "leader", "tier": "county"} in red.notify


def test_replay_after_restore_emits_nothing() -> None:
    pipe = Pipeline(registry(), rain_book())
    messages = _messages(["rg-1", "rg-2"])
    for msg in messages[:50]:
        pipe.feed(msg)
    pipe.gateways = {k: GatewayState.from_dict(v.to_dict()) for k, v in pipe.gateways.items()}
    pipe.regions = {k: RegionState.from_dict(v.to_dict()) for k, v in pipe.regions.items()}
    pipe.slots = {k: Slot.from_dict(v.to_dict()) for k, v in pipe.slots.items()}
    before = len(pipe.alerts)
    for msg in messages[40:50]:  # replayed after a restart
        pipe.feed(msg)
    assert len(pipe.alerts) == before
    for msg in messages[50:]:
        pipe.feed(msg)
    check_lifecycle([a.level for a in pipe.alerts])


def test_report_counts_only_for_plans_that_count_reports() -> None:
    from anlan.events import Report

    report = Report(report_id="r1", reporter_id="p1", kind="flooding",
                    region="360121100001-G1", ts=T0)
    assert report_changes(report, rain_book()) == []  # the rainstorm plan counts no reports


def test_a_report_carries_its_reporter_to_the_plans_that_count_it() -> None:
    from anlan.events import Report
    from contingency_plans import load_plans
    from streams.plans import PlanBook

    book = PlanBook(plans={"urban_waterlogging": load_plans()["urban_waterlogging"]})
    report = Report(report_id="r1", reporter_id="p1", kind="waterlogging",
                    region="360121100001-G1", ts=T0)
    changes = report_changes(report, book, received=T0)
    assert [(c.type, c.reporter, c.report_id, c.received) for c in changes] == [
        ("report", "p1", "r1", T0)]
