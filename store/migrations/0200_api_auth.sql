-- API (api/): console users, their role and region scope, and API tokens for integrations.
-- Passwords and tokens are stored hashed only (scrypt for passwords, SHA-256 for tokens).
CREATE TABLE IF NOT EXISTS api_users (
    username      text PRIMARY KEY,
    display_name  text NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'duty_officer', 'leader',
                                                'grid_worker', 'technician', 'viewer')),
    region        text NOT NULL,          -- the root of the region subtree the user may see
    person_id     text,                   -- the directory person, when the user is one
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS api_tokens (
    id           bigserial PRIMARY KEY,
    token_hash   text NOT NULL UNIQUE,
    username     text NOT NULL REFERENCES api_users (username) ON DELETE CASCADE,
    name         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens (username);
