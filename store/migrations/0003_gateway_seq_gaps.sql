-- Gaps in a gateway's seq reported by the bridge: messages the gateway sent (and the MQTT broker
-- acknowledged) that never reached the bridge — a broker dropping them, e.g. a full queue.
CREATE TABLE IF NOT EXISTS gateway_seq_gaps (
    gateway_id    text NOT NULL,
    first_missing bigint NOT NULL,
    last_missing  bigint NOT NULL,
    missing       bigint NOT NULL,
    at            timestamptz NOT NULL,
    bridge        text NOT NULL DEFAULT '',
    PRIMARY KEY (gateway_id, first_missing, last_missing)
);
CREATE INDEX IF NOT EXISTS gateway_seq_gaps_at ON gateway_seq_gaps (at);
