-- Core schema (store): the query store built from the Kafka topics by the sinks (`anlan sink`).
-- Every table has a natural dedup key so replaying a topic changes nothing. Current-state
-- tables (incidents, tasks, gateway_status, readings_latest) are upserted only by newer events.

-- Readings: one row per sensor and time. The key includes the time column (hypertable-ready).
CREATE TABLE IF NOT EXISTS readings (
    sensor_id   text NOT NULL,
    ts          timestamptz NOT NULL,
    kind        text NOT NULL,
    value       double precision NOT NULL,
    region      text NOT NULL,
    gateway_id  text NOT NULL,
    seq         bigint NOT NULL,
    flags       text[] NOT NULL DEFAULT '{}',
    received_at timestamptz NOT NULL,
    PRIMARY KEY (sensor_id, ts)
);
CREATE INDEX IF NOT EXISTS readings_region_ts ON readings (region, ts DESC);

-- The newest reading of each sensor (kept by the sink; cheap "latest" for the console).
CREATE TABLE IF NOT EXISTS readings_latest (
    sensor_id  text PRIMARY KEY,
    ts         timestamptz NOT NULL,
    kind       text NOT NULL,
    value      double precision NOT NULL,
    region     text NOT NULL,
    gateway_id text NOT NULL,
    flags      text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS readings_latest_region ON readings_latest (region text_pattern_ops);

CREATE TABLE IF NOT EXISTS reports (
    report_id   text PRIMARY KEY,
    reporter_id text NOT NULL,
    kind        text NOT NULL,
    region      text,
    lat         double precision,
    lon         double precision,
    text        text NOT NULL DEFAULT '',
    ts          timestamptz NOT NULL,
    source      text NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_region_ts ON reports (region text_pattern_ops, ts);
CREATE INDEX IF NOT EXISTS reports_ts ON reports (ts);

-- Gateways: current status plus the log of changes.
CREATE TABLE IF NOT EXISTS gateway_status (
    gateway_id text PRIMARY KEY,
    status     text NOT NULL CHECK (status IN ('online', 'offline')),
    at         timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS gateway_status_log (
    gateway_id text NOT NULL,
    at         timestamptz NOT NULL,
    status     text NOT NULL,
    PRIMARY KEY (gateway_id, at, status)
);

CREATE TABLE IF NOT EXISTS signals (
    plan     text NOT NULL,
    region   text NOT NULL,
    ts       timestamptz NOT NULL,
    level    text NOT NULL,
    previous text NOT NULL,
    evidence jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (plan, region, ts, level)
);
CREATE INDEX IF NOT EXISTS signals_region ON signals (region text_pattern_ops, ts);

-- Incidents: current state (newest event wins) and the timeline of every change.
CREATE TABLE IF NOT EXISTS incidents (
    incident_id text PRIMARY KEY,
    plan        text NOT NULL,
    hazard      text NOT NULL,
    region      text NOT NULL,
    level       text NOT NULL,
    status      text NOT NULL,
    last_change text NOT NULL,
    opened_at   timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    acknowledged_by text,
    resolved_at timestamptz,
    exercise    boolean NOT NULL DEFAULT false,
    evidence    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS incidents_region ON incidents (region text_pattern_ops);
CREATE INDEX IF NOT EXISTS incidents_status ON incidents (status, updated_at DESC);

CREATE TABLE IF NOT EXISTS incident_events (
    incident_id text NOT NULL,
    ts          timestamptz NOT NULL,
    change      text NOT NULL,
    level       text NOT NULL,
    previous    text NOT NULL,
    status      text NOT NULL,
    actor       text,
    plan        text NOT NULL,
    hazard      text NOT NULL,
    region      text NOT NULL,
    exercise    boolean NOT NULL DEFAULT false,
    evidence    jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (incident_id, ts, change, level)
);

-- Alerts (CAP 1.2 shaped), one row per alert message.
CREATE TABLE IF NOT EXISTS alerts (
    alert_id     text PRIMARY KEY,
    incident_id  text NOT NULL,
    msg_type     text NOT NULL CHECK (msg_type IN ('Alert', 'Update', 'Cancel')),
    "references" text[] NOT NULL DEFAULT '{}',
    status       text NOT NULL,
    plan         text NOT NULL,
    hazard       text NOT NULL,
    region       text NOT NULL,
    level        text NOT NULL,
    previous     text NOT NULL DEFAULT 'none',
    tier         int NOT NULL DEFAULT 0,
    sent         timestamptz NOT NULL,
    headline     text NOT NULL,
    description  text NOT NULL DEFAULT '',
    instruction  text NOT NULL DEFAULT '',
    evidence     jsonb NOT NULL DEFAULT '{}',
    raw          jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_incident ON alerts (incident_id, sent);
CREATE INDEX IF NOT EXISTS alerts_region ON alerts (region text_pattern_ops, sent DESC);
CREATE INDEX IF NOT EXISTS alerts_sent ON alerts (sent DESC);

CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id text PRIMARY KEY,
    alert_id    text NOT NULL,
    incident_id text NOT NULL,
    recipient   text NOT NULL,
    channel     text NOT NULL,
    attempt     int NOT NULL,
    outcome     text NOT NULL,
    error       text,
    at          timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_alert ON deliveries (alert_id, at);
CREATE INDEX IF NOT EXISTS deliveries_recipient ON deliveries (recipient, at);

-- Tasks: current state and the log of state changes.
CREATE TABLE IF NOT EXISTS tasks (
    task_id     text PRIMARY KEY,
    incident_id text,
    kind        text NOT NULL,
    state       text NOT NULL,
    region      text NOT NULL,
    title       text NOT NULL,
    quota       int NOT NULL DEFAULT 1,
    skills      text[] NOT NULL DEFAULT '{}',
    deadline    timestamptz,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS tasks_incident ON tasks (incident_id);
CREATE INDEX IF NOT EXISTS tasks_region ON tasks (region text_pattern_ops, state);

CREATE TABLE IF NOT EXISTS task_events (
    task_id text NOT NULL,
    ts      timestamptz NOT NULL,
    state   text NOT NULL,
    raw     jsonb NOT NULL,
    PRIMARY KEY (task_id, ts, state)
);

CREATE TABLE IF NOT EXISTS commands (
    command_id text PRIMARY KEY,
    kind       text NOT NULL,
    target     text NOT NULL,
    actor      text NOT NULL,
    ts         timestamptz NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS commands_target ON commands (target, ts);

-- Dead letters: everything rejected anywhere, with the reason and the original bytes.
-- dedup_key: a hash of the content (not the time), so a replay adds nothing.
CREATE TABLE IF NOT EXISTS deadletters (
    id           bigserial PRIMARY KEY,
    dedup_key    text NOT NULL UNIQUE,
    stage        text NOT NULL,
    reason       text NOT NULL,
    source_topic text NOT NULL,
    key          text,
    original     bytea NOT NULL,
    at           timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS deadletters_at ON deadletters (at DESC);

-- Audit log: who did what (commands from people, API actions). dedup_key may be NULL.
CREATE TABLE IF NOT EXISTS audit_log (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL,
    action    text NOT NULL,
    target    text,
    detail    jsonb NOT NULL DEFAULT '{}',
    source    text NOT NULL DEFAULT 'api',
    dedup_key text UNIQUE
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at DESC);
CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor, at DESC);
