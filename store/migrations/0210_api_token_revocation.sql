-- API (api/): revoking login tokens, across every API process.
-- token_version: carried by each login token; raising it voids all of the user's older tokens
-- (an administrator's "revoke all tokens"). api_revoked_tokens: the deny list of single login
-- tokens ended by logout, kept until they would have expired anyway.
ALTER TABLE api_users ADD COLUMN IF NOT EXISTS token_version integer NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS api_revoked_tokens (
    jti        text PRIMARY KEY,
    username   text NOT NULL REFERENCES api_users (username) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS api_revoked_tokens_expiry ON api_revoked_tokens (expires_at);
