-- Dispatch (alerts): alerts seen, per-person notification claims (dedup), every delivery
-- attempt, and the escalation / re-notification watch per incident.
CREATE TABLE IF NOT EXISTS dispatch_alerts (
    alert_id    text PRIMARY KEY,
    incident_id text NOT NULL,
    identifier  text NOT NULL,          -- CAP identifier
    payload     jsonb NOT NULL,         -- the anlan.events.Alert
    cap_xml     text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS dispatch_alerts_incident ON dispatch_alerts (incident_id);

-- One row per (alert, person, round): claimed before sending, completed after. A redelivered
-- alert finds the row and sends nothing; a row left 'sending' by a crashed dispatcher (another
-- owner) is taken over and sent again (at-least-once across a crash, never twice otherwise).
CREATE TABLE IF NOT EXISTS dispatch_notifications (
    alert_id    text NOT NULL,
    person_id   text NOT NULL,          -- '_ops' for the operations channel
    round       int NOT NULL DEFAULT 0, -- 0 first message, n = n-th re-notification
    incident_id text NOT NULL,
    state       text NOT NULL CHECK (state IN ('sending', 'sent', 'failed', 'skipped')),
    owner       text NOT NULL,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    done_at     timestamptz,
    channel     text,
    PRIMARY KEY (alert_id, person_id, round)
);
CREATE INDEX IF NOT EXISTS dispatch_notifications_incident
    ON dispatch_notifications (incident_id);

CREATE TABLE IF NOT EXISTS dispatch_attempts (
    delivery_id text PRIMARY KEY,
    alert_id    text NOT NULL,
    incident_id text NOT NULL,
    person_id   text NOT NULL,
    round       int NOT NULL DEFAULT 0,
    channel     text NOT NULL,
    url_index   int NOT NULL,
    attempt     int NOT NULL,
    outcome     text NOT NULL,
    error       text,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS dispatch_attempts_alert ON dispatch_attempts (alert_id, person_id);

CREATE TABLE IF NOT EXISTS dispatch_watch (
    incident_id      text PRIMARY KEY,
    alert_id         text NOT NULL,      -- the latest alert of the incident (base of escalation)
    state            text NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    step             int NOT NULL DEFAULT 0,
    renotify_round   int NOT NULL DEFAULT 0,
    ack_timeout_s    double precision,
    renotify_s       double precision,
    next_escalate_at timestamptz,
    next_renotify_at timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    closed_by        text
);
CREATE INDEX IF NOT EXISTS dispatch_watch_due ON dispatch_watch (state, next_escalate_at,
                                                                 next_renotify_at);
