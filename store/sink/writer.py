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
                    if rows:
                        _copy(cur, tables.STAGES[name], rows)
                for name, rows in batch.rows.items():
                    if rows:
                        for stmt in tables.STAGES[name].apply:
                            cur.execute(stmt)  # type: ignore[call-overload]
        except psycopg.Error as exc:
            if is_retryable(exc) or self.conn is None or self.conn.closed:
                self._drop()
                raise RetryableError(f"database unavailable: {_first_line(exc)}") from exc
            raise PermanentError(f"database refused the data: {_first_line(exc)}") from exc
        return batch.row_count

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


def _copy(cur: psycopg.Cursor[Any], stage: tables.Stage, rows: list[tuple[Any, ...]]) -> None:
    with cur.copy(stage.copy_sql()) as copy:  # type: ignore[call-overload]
        copy.set_types(stage.types)
        for row in rows:
            copy.write_row(row)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__
