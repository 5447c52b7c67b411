-- Mobilization (alerts): tasks, per-volunteer offers / assignments, personal links.
CREATE TABLE IF NOT EXISTS mob_tasks (
    task_id      text PRIMARY KEY,
    incident_id  text,
    kind         text NOT NULL,
    state        text NOT NULL,         -- open, offered, accepted, completed, cancelled, expired
    region       text NOT NULL,
    title        text NOT NULL,
    quota        int NOT NULL DEFAULT 1,
    skills       text[] NOT NULL DEFAULT '{}',
    starts_at    timestamptz NOT NULL,
    deadline     timestamptz,
    wave         int NOT NULL DEFAULT 0,
    wave_s       double precision NOT NULL DEFAULT 300,
    next_wave_at timestamptz,
    exercise     boolean NOT NULL DEFAULT false,
    payload      jsonb NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS mob_tasks_incident ON mob_tasks (incident_id);
CREATE INDEX IF NOT EXISTS mob_tasks_due ON mob_tasks (state, next_wave_at);

-- One row per (task, person): offered → accepted / declined / withdrawn → checked_in →
-- completed, or cancelled.
CREATE TABLE IF NOT EXISTS mob_assignments (
    task_id    text NOT NULL,
    person_id  text NOT NULL,
    wave       int NOT NULL,
    state      text NOT NULL,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, person_id)
);
CREATE INDEX IF NOT EXISTS mob_assignments_person ON mob_assignments (person_id, state);

-- Personal links: only the SHA-256 of the token is stored.
CREATE TABLE IF NOT EXISTS mob_links (
    token_hash text PRIMARY KEY,
    task_id    text NOT NULL,
    person_id  text NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz
);
CREATE INDEX IF NOT EXISTS mob_links_task ON mob_links (task_id, person_id);

-- Welfare checks: one per vulnerable resident per incident, tracked until checked.
CREATE TABLE IF NOT EXISTS mob_welfare (
    task_id     text PRIMARY KEY,
    incident_id text,
    resident_id text NOT NULL,
    grid        text NOT NULL,
    responsible text NOT NULL,
    state       text NOT NULL DEFAULT 'open',  -- open, checked, cancelled
    created_at  timestamptz NOT NULL DEFAULT now(),
    checked_at  timestamptz
);
