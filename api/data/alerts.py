"""Alert queries over the store's ``alerts`` / ``incidents`` / ``deliveries`` tables.

An alert's duty status is its incident's status (open → acknowledged → resolved); an alert whose
incident the sink has not written yet counts as open (a Cancel as resolved).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.data.rows import Conn, Row, fetch_all, fetch_one
from api.scope import scope_params, scope_sql

_STATUS = ("COALESCE(i.status, CASE WHEN a.msg_type = 'Cancel' THEN 'resolved' "
           "ELSE 'open' END)")
_COLUMNS = (f"a.alert_id, a.incident_id, a.msg_type, a.status AS cap_status, a.plan, a.hazard, "
            f"a.region, a.level, a.previous, a.tier, a.sent, a.headline, {_STATUS} AS status, "
            "i.acknowledged_by, COALESCE(i.exercise, a.status = 'Exercise') AS exercise, "
            "(a.raw->>'onset')::timestamptz AS onset, "
            "(a.raw->>'detected')::timestamptz AS detected, "
            "COALESCE((a.raw->>'late')::boolean, false) AS late")
STATUSES = ("active", "open", "acknowledged", "resolved")


@dataclass(frozen=True, kw_only=True)
class AlertFilter:
    """Filters of the alert list (``scope`` is the region subtree to search)."""

    scope: str
    levels: tuple[str, ...] = ()
    status: str | None = None  # active = open or acknowledged
    since: datetime | None = None
    until: datetime | None = None
    latest_only: bool = True  # one row per incident: its newest alert
    limit: int = 100
    offset: int = 0


def list_alerts(conn: Conn, f: AlertFilter) -> list[Row]:
    """Alerts in the subtree, newest first, filtered by level, duty status and time."""
    if f.status and f.latest_only:
        return _latest_by_status(conn, f)
    if f.latest_only:
        rows = _latest_in_window(conn, f)
        if rows is not None:
            return rows
    where = [scope_sql("a.region")]
    params: dict[str, object] = {**scope_params(f.scope), "limit": f.limit, "offset": f.offset}
    _common_filters(f, where, params)
    if f.status == "active":
        where.append(f"{_STATUS} IN ('open', 'acknowledged')")
    elif f.status:
        where.append(f"{_STATUS} = %(status)s")
        params["status"] = f.status
    inner = (f"SELECT {'DISTINCT ON (a.incident_id)' if f.latest_only else ''} {_COLUMNS} "
             "FROM alerts a LEFT JOIN incidents i ON i.incident_id = a.incident_id "
             f"WHERE {' AND '.join(where)}")
    if f.latest_only:
        inner += " ORDER BY a.incident_id, a.sent DESC, a.alert_id DESC"
    return fetch_all(conn, f"SELECT * FROM ({inner}) x ORDER BY sent DESC, alert_id DESC "
                     "LIMIT %(limit)s OFFSET %(offset)s", params)


WINDOW_FACTOR = 8  # alerts read per incident wanted before falling back to the whole history


def _latest_in_window(conn: Conn, f: AlertFilter) -> list[Row] | None:
    """Newest alert per incident from the newest ``WINDOW_FACTOR × (limit + offset)`` alerts.

    Exact whenever the window holds enough distinct incidents: every incident with an alert
    in the window has its newest alert there too, and any incident left out has an older newest
    alert than all of them. None when the window is too small (the caller scans everything)."""
    window = WINDOW_FACTOR * (f.limit + f.offset)
    where = [scope_sql("a.region")]
    params: dict[str, object] = {**scope_params(f.scope), "limit": f.limit, "offset": f.offset,
                                 "window": window}
    _common_filters(f, where, params)
    rows = fetch_all(conn, f"""
        WITH recent AS (SELECT a.* FROM alerts a WHERE {' AND '.join(where)}
                        ORDER BY a.sent DESC, a.alert_id DESC LIMIT %(window)s),
             latest AS (SELECT DISTINCT ON (a.incident_id) {_COLUMNS}
                        FROM recent a LEFT JOIN incidents i ON i.incident_id = a.incident_id
                        ORDER BY a.incident_id, a.sent DESC, a.alert_id DESC)
        SELECT *, (SELECT count(*) FROM latest) AS n, (SELECT count(*) FROM recent) AS seen
        FROM latest ORDER BY sent DESC, alert_id DESC LIMIT %(limit)s OFFSET %(offset)s""",
                     params)
    if rows and rows[0]["seen"] >= window and rows[0]["n"] < f.limit + f.offset:
        return None
    if not rows and fetch_all(conn, f"SELECT 1 FROM alerts a WHERE {' AND '.join(where)} "
                              "OFFSET %(window)s LIMIT 1", params):
        return None  # offset beyond the window's incidents
    for r in rows:
        r.pop("n", None)
        r.pop("seen", None)
    return rows


def _common_filters(f: AlertFilter, where: list[str], params: dict[str, object]) -> None:
    if f.levels:
        where.append("a.level = ANY(%(levels)s)")
        params["levels"] = list(f.levels)
    if f.since:
        where.append("a.sent >= %(since)s")
        params["since"] = f.since
    if f.until:
        where.append("a.sent < %(until)s")
        params["until"] = f.until


def _latest_by_status(conn: Conn, f: AlertFilter) -> list[Row]:
    """The board's query: driven by the incidents in a duty status (index on status), each
    with its newest alert — cost grows with the matching incidents, not with the history.
    Alerts of the last hour whose incident the sink has not written yet count as open."""
    statuses = ["open", "acknowledged"] if f.status == "active" else [f.status]
    where: list[str] = []
    params: dict[str, object] = {**scope_params(f.scope), "limit": f.limit, "offset": f.offset,
                                 "statuses": statuses}
    _common_filters(f, where, params)
    extra = "".join(f" AND {w}" for w in where)
    query = f"""
        SELECT {_COLUMNS} FROM incidents i
        CROSS JOIN LATERAL (SELECT * FROM alerts a WHERE a.incident_id = i.incident_id
                            ORDER BY a.sent DESC, a.alert_id DESC LIMIT 1) a
        WHERE i.status = ANY(%(statuses)s) AND {scope_sql("i.region")}{extra}"""
    if "open" in statuses:
        query += f"""
        UNION ALL
        SELECT * FROM (SELECT DISTINCT ON (a.incident_id) {_COLUMNS} FROM alerts a
                       LEFT JOIN incidents i ON i.incident_id = a.incident_id
                       WHERE i.incident_id IS NULL AND a.msg_type <> 'Cancel'
                         AND a.sent >= now() - interval '1 hour'
                         AND {scope_sql("a.region")}{extra}
                       ORDER BY a.incident_id, a.sent DESC, a.alert_id DESC) orphans"""
    return fetch_all(conn, f"SELECT * FROM ({query}) x ORDER BY sent DESC, alert_id DESC "
                     "LIMIT %(limit)s OFFSET %(offset)s", params)


def get_alert(conn: Conn, alert_id: str) -> Row | None:
    """One alert with its full text, evidence, the raw event and its duty status."""
    return fetch_one(conn, f"SELECT {_COLUMNS}, a.description, a.instruction, a.evidence, "
                     'a."references", a.raw, i.opened_at, i.updated_at, i.resolved_at, '
                     "i.level AS incident_level FROM alerts a LEFT JOIN incidents i "
                     "ON i.incident_id = a.incident_id WHERE a.alert_id = %(id)s",
                     {"id": alert_id})


def alerts_of_incident(conn: Conn, incident_id: str) -> list[Row]:
    return fetch_all(conn, "SELECT alert_id, msg_type, level, previous, tier, sent, headline, "
                     "status FROM alerts WHERE incident_id = %(id)s ORDER BY sent, alert_id",
                     {"id": incident_id})


def deliveries(conn: Conn, incident_id: str, alert_id: str | None = None) -> list[Row]:
    """The delivery log of an incident (or of one alert), oldest first."""
    return fetch_all(conn, "SELECT delivery_id, alert_id, recipient, channel, attempt, outcome, "
                     "error, at FROM deliveries WHERE incident_id = %(inc)s AND "
                     "(%(alert)s::text IS NULL OR alert_id = %(alert)s) ORDER BY at, delivery_id",
                     {"inc": incident_id, "alert": alert_id})


def latest_alert_of_incident(conn: Conn, incident_id: str) -> Row | None:
    return fetch_one(conn, "SELECT alert_id, region FROM alerts WHERE incident_id = %(id)s "
                     "ORDER BY sent DESC, alert_id DESC LIMIT 1", {"id": incident_id})


def active_levels(conn: Conn, scope: str) -> list[Row]:
    """Per region in the subtree: the worst level among unresolved incidents and their count."""
    return fetch_all(conn, "SELECT region, count(*) AS n, max(CASE level WHEN 'I' THEN 4 "
                     "WHEN 'II' THEN 3 WHEN 'III' THEN 2 WHEN 'IV' THEN 1 ELSE 0 END) AS rank "
                     "FROM incidents WHERE status IN ('open', 'acknowledged') AND "
                     f"{scope_sql('region')} GROUP BY region", scope_params(scope))
