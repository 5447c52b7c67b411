"""The sinks: Kafka topics → PostgreSQL tables (``anlan sink``).

``decode`` (pure: records → staging rows or dead letters), ``tables`` (staging tables and the
SQL that applies them), ``writer`` (one transaction per batch, retryable vs refused), ``runner``
(the consume → write → commit loop with backoff while the database is away).
"""
