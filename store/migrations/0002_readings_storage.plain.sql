-- Readings storage on plain PostgreSQL: a BRIN index on time (readings arrive in time order),
-- hourly per-sensor statistics as a view over date_bin (same shape as the Timescale continuous
-- aggregate), and retention by a scheduled delete (store.retention.apply, run by the sink).
CREATE INDEX IF NOT EXISTS readings_ts_brin ON readings USING brin (ts) WITH (pages_per_range = 32);

CREATE OR REPLACE VIEW readings_hourly AS
SELECT sensor_id,
       date_bin(INTERVAL '1 hour', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
       kind,
       region,
       count(*)   AS n,
       min(value) AS min,
       max(value) AS max,
       avg(value) AS avg,
       sum(value) AS sum,
       max(ts)    AS last_ts
FROM readings
GROUP BY 1, 2, 3, 4;
