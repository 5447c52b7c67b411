"""The store: PostgreSQL / TimescaleDB schema, migrations, the sinks and read queries.

Public surface (import the submodule you need; nothing heavy is imported here):

- :mod:`store.migrate` — ``migrate(url) -> list[str]`` applies ``store/migrations`` (plain or
  TimescaleDB flavour, chosen once per database); ``anlan db migrate``.
- :mod:`store.sink` — ``anlan sink``: Kafka topics → tables, offsets committed after the rows
  (``store.sink.runner.Sink`` / ``run_sink``; ``store.sink.writer.Writer`` is the write path).
- :mod:`store.queries` — read queries for the API (history buckets, latest readings, incident
  timeline, alerts by region subtree, delivery log).
- :mod:`store.pool` — psycopg_pool pools from settings.
- :mod:`store.retention` — ``apply(conn, days)``: drop old readings.
- :mod:`store.directory`, :mod:`store.auth` — directory and API users (their owners' modules).
"""
