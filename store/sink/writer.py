"""The sink's database side: one connection, a batch per transaction, COPY into staging tables.

Errors are sorted in two kinds: the database went away or refused (connection lost, terminated,
``ALLOW_CONNECTIONS false``, deadlock, serialization failure) → :class:`RetryableError`, the
caller waits and writes the same batch again; the data itself was refused (a value the schema
rejects) → :class:`PermanentError`, the caller isolates the bad record and dead-letters it.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg import errors as pgerr

from anlan.errors import PermanentError, RetryableError
from store.sink import tables
from store.sink.decode import Batch

log = logging.getLogger(__name__)
APPLICATION_NAME = "anlan-sink"
STAGED_AFTER_CONFLICT = 20  # batches written through staging after a duplicate was seen
_DIRECT_COPY = (f"COPY readings ({', '.join(tables.READINGS.column_names)}) "
                "FROM STDIN (FORMAT BINARY)")

_RETRYABLE = (psycopg.OperationalError, pgerr.AdminShutdown, pgerr.CannotConnectNow,
              pgerr.TransactionRollback, pgerr.LockNotAvailable, pgerr.QueryCanceled,
              pgerr.InsufficientResources, psycopg.InterfaceError)


def is_retryable(exc: BaseException) -> bool:
    """True for failures of the database rather than of the data."""
    return isinstance(exc, _RETRYABLE)


class Writer:
    """Writes :class:`Batch` es in single transactions on one (re)connecting connection."""

    def __init__(self, url: str, *, connect_timeout: int = 5,
                 application_name: str = APPLICATION_NAME) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        self.application_name = application_name
        self.conn: psycopg.Connection[Any] | None = None
        self._staged_left = 0
        self.direct_batches = 0  # readings COPYed straight into the table
        self.staged_batches = 0  # readings deduplicated through the staging table

    def _connect(self) -> psycopg.Connection[Any]:
        if self.conn is not None and not self.conn.closed:
            return self.conn
        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=self.connect_timeout,
                               application_name=self.application_name)
        for stage in tables.ALL_STAGES:
            conn.execute(stage.create_sql())  # type: ignore[call-overload]
        self.conn = conn
        return conn

    def connect(self) -> None:
        """Open the connection now; raises :class:`RetryableError` when the database refuses."""
        try:
            self._connect()
        except psycopg.Error as exc:
            self._drop()
            raise RetryableError(f"database unavailable: {_first_line(exc)}") from exc

    def write(self, batch: Batch) -> int:
        """Write every row of ``batch`` in one transaction; return the rows staged."""
        if not batch.row_count:
            return 0
        try:
            conn = self._connect()
            with conn.transaction(), conn.cursor() as cur:
                for name, rows in batch.rows.items():
                    if not rows:
                        continue
                    if name == tables.READINGS.name:
                        self._write_readings(conn, cur, rows)
                        continue
                    stage = tables.STAGES[name]
                    _copy(cur, stage.copy_sql(), stage.types, rows)
                    for stmt in stage.apply:
                        cur.execute(stmt)  # type: ignore[call-overload]
        except psycopg.Error as exc:
            if is_retryable(exc) or self.conn is None or self.conn.closed:
                self._drop()
                raise RetryableError(f"database unavailable: {_first_line(exc)}") from exc
            raise PermanentError(f"database refused the data: {_first_line(exc)}") from exc
        except (TypeError, ValueError, OverflowError) as exc:  # a value psycopg cannot dump
            raise PermanentError(f"value cannot be stored: {_first_line(exc)}") from exc
        return batch.row_count

    def _write_readings(self, conn: psycopg.Connection[Any], cur: psycopg.Cursor[Any],
                        rows: list[tuple[Any, ...]]) -> None:
        """Readings: COPY straight into the table when none of them is stored yet (the usual
        case); on a duplicate (a replay) roll back to a savepoint and go through the staging
        table with ``ON CONFLICT DO NOTHING``, and keep doing so for the next few batches."""
        stage = tables.READINGS
        done = False
        if self._staged_left <= 0:
            try:
                with conn.transaction():  # savepoint
                    _copy(cur, _DIRECT_COPY, stage.types, rows)
                done = True
                self.direct_batches += 1
            except pgerr.UniqueViolation:
                self._staged_left = STAGED_AFTER_CONFLICT
        else:
            self._staged_left -= 1
        if not done:
            self.staged_batches += 1
            _copy(cur, stage.copy_sql(), stage.types, rows)
            for stmt in stage.apply:
                cur.execute(stmt)  # type: ignore[call-overload]
        latest = tables.READINGS_LATEST
        _copy(cur, latest.copy_sql(), latest.types, tables.latest_rows(rows))
        for stmt in latest.apply:
            cur.execute(stmt)  # type: ignore[call-overload]

    def execute(self, query: str, params: tuple[Any, ...] = ()) -> int:
        """Run one maintenance statement (autocommit); return its row count."""
        try:
            conn = self._connect()
            return conn.execute(query, params).rowcount  # type: ignore[call-overload]
        except psycopg.Error as exc:
            if is_retryable(exc) or self.conn is None or self.conn.closed:
                self._drop()
                raise RetryableError(f"database unavailable: {_first_line(exc)}") from exc
            raise

    def _drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg.Error:  # pragma: no cover - closing a dead connection
                pass
        self.conn = None

    def close(self) -> None:
        self._drop()


def _copy(cur: psycopg.Cursor[Any], statement: str, types: list[str],
          rows: list[tuple[Any, ...]]) -> None:
    with cur.copy(statement) as copy:  # type: ignore[call-overload]
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__
