"""Staging tables of the sink and the SQL that moves staged rows into the real tables.

Each :class:`Stage` is a temporary table (``ON COMMIT DELETE ROWS``) that a batch is COPYed into,
followed by statements that insert from it with ``ON CONFLICT DO NOTHING`` (append-only tables,
so a replay adds nothing) or upsert the current-state tables, newest event wins (``DISTINCT ON``
the key ordered by event time, and ``WHERE`` the stored row is not newer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stage:
    """A staging table: its name, ``(column, type)`` list and the statements that apply it."""

    name: str
    columns: tuple[tuple[str, str], ...]
    apply: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]

    @property
    def types(self) -> list[str]:
        return [t for _, t in self.columns]

    def create_sql(self) -> str:
        cols = ", ".join(f'"{c}" {t}' for c, t in self.columns)
        return f"CREATE TEMP TABLE IF NOT EXISTS {self.name} ({cols}) ON COMMIT DELETE ROWS"

    def copy_sql(self) -> str:
        cols = ", ".join(f'"{c}"' for c in self.column_names)
        return f"COPY {self.name} ({cols}) FROM STDIN (FORMAT BINARY)"


def _insert(table: str, stage: str, cols: str, conflict: str = "DO NOTHING") -> str:
    return f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT {conflict}"


def _newest_wins(table: str, ts: str, columns: tuple[str, ...]) -> str:
    """SET clauses taking each column from the incoming row only when it is not older, so an
    out-of-order event still contributes its part (first time, first acknowledger)."""
    newer = f"EXCLUDED.{ts} >= {table}.{ts}"
    return ", ".join(f"{c} = CASE WHEN {newer} THEN EXCLUDED.{c} ELSE {table}.{c} END"
                     for c in columns)


READINGS = Stage(
    "stage_readings",
    (("sensor_id", "text"), ("ts", "timestamptz"), ("kind", "text"),
     ("value", "double precision"), ("region", "text"), ("gateway_id", "text"),
     ("seq", "bigint"), ("flags", "text[]"), ("received_at", "timestamptz")),
    (_insert("readings", "stage_readings",
             "sensor_id, ts, kind, value, region, gateway_id, seq, flags, received_at"),),
)
# The writer may COPY readings straight into the table (see store.sink.writer); either way the
# newest reading per sensor of the batch goes through this stage.
READINGS_LATEST = Stage(
    "stage_readings_latest",
    (("sensor_id", "text"), ("ts", "timestamptz"), ("kind", "text"),
     ("value", "double precision"), ("region", "text"), ("gateway_id", "text"),
     ("flags", "text[]")),
    (
        ("INSERT INTO readings_latest (sensor_id, ts, kind, value, region, gateway_id, flags) "
        "SELECT DISTINCT ON (sensor_id) sensor_id, ts, kind, value, region, gateway_id, flags "
        "FROM stage_readings_latest ORDER BY sensor_id, ts DESC "
        "ON CONFLICT (sensor_id) DO UPDATE SET ts = EXCLUDED.ts, kind = EXCLUDED.kind, "
        "value = EXCLUDED.value, region = EXCLUDED.region, gateway_id = EXCLUDED.gateway_id, "
        "flags = EXCLUDED.flags WHERE readings_latest.ts < EXCLUDED.ts"),
    ),
)


def latest_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The newest ``stage_readings_latest`` row per sensor among ``stage_readings`` rows."""
    newest: dict[str, tuple[Any, ...]] = {}
    for r in rows:
        cur = newest.get(r[0])
        if cur is None or r[1] > cur[1]:
            newest[r[0]] = r
    return [(r[0], r[1], r[2], r[3], r[4], r[5], r[7]) for r in newest.values()]


REPORTS = Stage(
    "stage_reports",
    (("report_id", "text"), ("reporter_id", "text"), ("kind", "text"), ("region", "text"),
     ("lat", "double precision"), ("lon", "double precision"), ("text", "text"),
     ("ts", "timestamptz"), ("source", "text")),
    (_insert("reports", "stage_reports",
             "report_id, reporter_id, kind, region, lat, lon, text, ts, source"),),
)

GATEWAY_STATUS = Stage(
    "stage_gateway_status",
    (("gateway_id", "text"), ("at", "timestamptz"), ("status", "text")),
    (
        _insert("gateway_status_log", "stage_gateway_status", "gateway_id, at, status"),
        ("INSERT INTO gateway_status (gateway_id, status, at) "
        "SELECT DISTINCT ON (gateway_id) gateway_id, status, at FROM stage_gateway_status "
        "ORDER BY gateway_id, at DESC, status "
        "ON CONFLICT (gateway_id) DO UPDATE SET status = EXCLUDED.status, at = EXCLUDED.at "
        "WHERE gateway_status.at <= EXCLUDED.at"),
    ),
)

# The bridge's reports of messages a gateway sent that never arrived (anlan.events.SeqGap).
GATEWAY_SEQ_GAPS = Stage(
    "stage_gateway_seq_gaps",
    (("gateway_id", "text"), ("first_missing", "bigint"), ("last_missing", "bigint"),
     ("missing", "bigint"), ("at", "timestamptz"), ("bridge", "text")),
    (_insert("gateway_seq_gaps", "stage_gateway_seq_gaps",
             "gateway_id, first_missing, last_missing, missing, at, bridge"),),
)

SIGNALS = Stage(
    "stage_signals",
    (("plan", "text"), ("region", "text"), ("ts", "timestamptz"), ("level", "text"),
     ("previous", "text"), ("evidence", "jsonb"), ("exercise", "boolean")),
    (_insert("signals", "stage_signals",
             "plan, region, ts, level, previous, evidence, exercise"),),
)

_INCIDENT_COLS = ("incident_id, ts, change, level, previous, status, actor, plan, hazard, "
                  "region, exercise, evidence")
# Status rank breaks ties between events of the same time (acknowledged after open, …).
_STATUS_RANK = "CASE status WHEN 'resolved' THEN 2 WHEN 'acknowledged' THEN 1 ELSE 0 END"

INCIDENTS = Stage(
    "stage_incidents",
    (("incident_id", "text"), ("ts", "timestamptz"), ("change", "text"), ("level", "text"),
     ("previous", "text"), ("status", "text"), ("actor", "text"), ("plan", "text"),
     ("hazard", "text"), ("region", "text"), ("exercise", "boolean"), ("evidence", "jsonb")),
    (
        _insert("incident_events", "stage_incidents", _INCIDENT_COLS),
        "INSERT INTO incidents (incident_id, plan, hazard, region, level, status, last_change, "
        "opened_at, updated_at, acknowledged_by, resolved_at, exercise, evidence) "
        "SELECT DISTINCT ON (s.incident_id) s.incident_id, s.plan, s.hazard, s.region, s.level, "
        "s.status, s.change, first.opened_at, s.ts, "
        "ack.actor, "
        "CASE WHEN s.status = 'resolved' THEN s.ts END, s.exercise, s.evidence "
        "FROM stage_incidents s "
        "JOIN (SELECT incident_id, min(ts) AS opened_at FROM stage_incidents "
        "      GROUP BY incident_id) first USING (incident_id) "
        "LEFT JOIN LATERAL (SELECT a.actor FROM stage_incidents a "
        "      WHERE a.incident_id = s.incident_id AND a.change = 'acknowledged' "
        "      ORDER BY a.ts LIMIT 1) ack ON true "
        f"ORDER BY s.incident_id, s.ts DESC, {_STATUS_RANK.replace('status', 's.status')} DESC "
        "ON CONFLICT (incident_id) DO UPDATE SET "
        + _newest_wins("incidents", "updated_at", ("level", "status", "last_change",
                                                   "updated_at", "evidence", "region", "exercise",
                                                   "resolved_at"))
        + ", opened_at = LEAST(incidents.opened_at, EXCLUDED.opened_at), "
        "acknowledged_by = COALESCE(incidents.acknowledged_by, EXCLUDED.acknowledged_by)",
    ),
)

_ALERT_COLS = ('alert_id, incident_id, msg_type, "references", status, plan, hazard, region, '
               "level, previous, tier, sent, headline, description, instruction, evidence, raw")
ALERTS = Stage(
    "stage_alerts",
    (("alert_id", "text"), ("incident_id", "text"), ("msg_type", "text"),
     ("references", "text[]"), ("status", "text"), ("plan", "text"), ("hazard", "text"),
     ("region", "text"), ("level", "text"), ("previous", "text"), ("tier", "integer"),
     ("sent", "timestamptz"), ("headline", "text"), ("description", "text"),
     ("instruction", "text"), ("evidence", "jsonb"), ("raw", "jsonb")),
    (_insert("alerts", "stage_alerts", _ALERT_COLS),),
)

DELIVERIES = Stage(
    "stage_deliveries",
    (("delivery_id", "text"), ("alert_id", "text"), ("incident_id", "text"),
     ("recipient", "text"), ("channel", "text"), ("attempt", "integer"), ("outcome", "text"),
     ("error", "text"), ("at", "timestamptz")),
    (_insert("deliveries", "stage_deliveries",
             "delivery_id, alert_id, incident_id, recipient, channel, attempt, outcome, error, at"),),
)

_TASK_RANK = ("CASE state WHEN 'completed' THEN 6 WHEN 'cancelled' THEN 5 WHEN 'expired' "
              "THEN 5 WHEN 'checked_in' THEN 4 WHEN 'accepted' THEN 3 WHEN 'offered' THEN 2 "
              "ELSE 1 END")
TASKS = Stage(
    "stage_tasks",
    (("task_id", "text"), ("incident_id", "text"), ("kind", "text"), ("state", "text"),
     ("region", "text"), ("title", "text"), ("quota", "integer"), ("skills", "text[]"),
     ("deadline", "timestamptz"), ("ts", "timestamptz"), ("detail", "jsonb"), ("raw", "jsonb"),
     ("exercise", "boolean")),
    (
        _insert("task_events", "stage_tasks", "task_id, ts, state, raw"),
        "INSERT INTO tasks (task_id, incident_id, kind, state, region, title, quota, skills, "
        "deadline, created_at, updated_at, detail, exercise) "
        "SELECT DISTINCT ON (s.task_id) s.task_id, s.incident_id, s.kind, s.state, s.region, "
        "s.title, s.quota, s.skills, s.deadline, first.created_at, s.ts, s.detail, s.exercise "
        "FROM stage_tasks s JOIN (SELECT task_id, min(ts) AS created_at FROM stage_tasks "
        "GROUP BY task_id) first USING (task_id) "
        f"ORDER BY s.task_id, s.ts DESC, {_TASK_RANK.replace('state', 's.state')} DESC "
        "ON CONFLICT (task_id) DO UPDATE SET "
        + _newest_wins("tasks", "updated_at", ("state", "title", "quota", "skills", "deadline",
                                               "region", "incident_id", "updated_at", "detail"))
        + ", created_at = LEAST(tasks.created_at, EXCLUDED.created_at), "
        "exercise = tasks.exercise OR EXCLUDED.exercise",
    ),
)

COMMANDS = Stage(
    "stage_commands",
    (("command_id", "text"), ("kind", "text"), ("target", "text"), ("actor", "text"),
     ("ts", "timestamptz"), ("detail", "jsonb")),
    (
        _insert("commands", "stage_commands", "command_id, kind, target, actor, ts, detail"),
        ("INSERT INTO audit_log (at, actor, action, target, detail, source, dedup_key) "
        "SELECT ts, actor, kind, target, detail, 'command', 'command:' || command_id "
        "FROM stage_commands ON CONFLICT (dedup_key) DO NOTHING"),
    ),
)

DEADLETTERS = Stage(
    "stage_deadletters",
    (("dedup_key", "text"), ("stage", "text"), ("reason", "text"), ("source_topic", "text"),
     ("key", "text"), ("original", "bytea"), ("at", "timestamptz")),
    (_insert("deadletters", "stage_deadletters",
             "dedup_key, stage, reason, source_topic, key, original, at"),),
)

ALL_STAGES: tuple[Stage, ...] = (READINGS, READINGS_LATEST, REPORTS, GATEWAY_STATUS,
                                 GATEWAY_SEQ_GAPS, SIGNALS, INCIDENTS, ALERTS, DELIVERIES, TASKS,
                                 COMMANDS, DEADLETTERS)
STAGES = {s.name: s for s in ALL_STAGES}
