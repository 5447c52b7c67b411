-- migrate: no-transaction
-- Readings storage with TimescaleDB: hypertable (1-day chunks), compression of chunks older
-- than 7 days (segment by sensor), retention of 365 days, and a continuous aggregate of hourly
-- per-sensor statistics refreshed every 30 minutes. Runs statement by statement in autocommit
-- (continuous aggregates cannot be created in a transaction); every statement is idempotent.
SELECT create_hypertable('readings', 'ts', chunk_time_interval => INTERVAL '1 day',
                         migrate_data => true, if_not_exists => true);

ALTER TABLE readings SET (timescaledb.compress,
                          timescaledb.compress_segmentby = 'sensor_id',
                          timescaledb.compress_orderby = 'ts DESC');

SELECT add_compression_policy('readings', INTERVAL '7 days', if_not_exists => true);

SELECT add_retention_policy('readings', INTERVAL '365 days', if_not_exists => true);

CREATE MATERIALIZED VIEW IF NOT EXISTS readings_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT sensor_id,
       time_bucket(INTERVAL '1 hour', ts) AS bucket,
       kind,
       region,
       count(*)   AS n,
       min(value) AS min,
       max(value) AS max,
       avg(value) AS avg,
       sum(value) AS sum,
       max(ts)    AS last_ts
FROM readings
GROUP BY sensor_id, time_bucket(INTERVAL '1 hour', ts), kind, region
WITH NO DATA;

SELECT add_continuous_aggregate_policy('readings_hourly',
                                       start_offset => INTERVAL '3 days',
                                       end_offset => INTERVAL '1 hour',
                                       schedule_interval => INTERVAL '30 minutes',
                                       if_not_exists => true);
