"""The contract's bounds, in one place: what the edge (bridge, API) accepts.

- **Integers** travel through JSON codecs (pydantic, orjson in the worker) and land in PostgreSQL
  ``bigint`` / ``integer`` columns: every integer of an event is bounded to the column it lands
  in (:data:`Seq`, :data:`BigInt`, :data:`Int32`). orjson refuses integers beyond 64 bits.
- **Times**: a reading or report may be at most :data:`CLOCK_SKEW` ahead of the receiver's
  clock (gateway / phone clock drift). Readings may be old — a gateway's backlog after an outage
  is welcome — back to :data:`EARLIEST`; a report is news about *now*: at most
  :data:`REPORT_MAX_AGE` old.
- **Text**: JSON can escape a lone UTF-16 surrogate (``"\\ud83d"``) that no UTF-8 encoder
  accepts; :func:`bad_unicode_at` finds where one is, so the first stage that sees it can
  reject it with a reason instead of failing later on encoding.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import Field

BIGINT_MAX = 2**63 - 1
"""PostgreSQL ``bigint`` (and every signed 64-bit codec)."""
INT32_MAX = 2**31 - 1
"""PostgreSQL ``integer``."""

Seq = Annotated[int, Field(ge=0, le=BIGINT_MAX)]
"""A gateway's message counter: stored as ``bigint``."""
BigInt = Annotated[int, Field(ge=-BIGINT_MAX - 1, le=BIGINT_MAX)]
Int32 = Annotated[int, Field(ge=-INT32_MAX - 1, le=INT32_MAX)]

CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the receiver's clock an event time may be."""
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""Readings older than this are implausible (a gateway clock that lost its time)."""
REPORT_MAX_AGE = timedelta(days=7)
"""A report older than this is not news: it is rejected rather than counted as current."""
REPORT_NEEDS_REGION = ("a report needs 'region', a region id of the directory: lat/lon alone "
                       "cannot be located (the directory has no geometry)")


def report_time_problem(ts: datetime, now: datetime) -> str | None:
    """Why a report's time ``ts`` is outside the contract at ``now``; None when it is fine."""
    if ts > now + CLOCK_SKEW:
        return (f"report time {ts.isoformat()} is more than {_minutes(CLOCK_SKEW)} minutes "
                "ahead of the receiver's clock")
    if ts < now - REPORT_MAX_AGE:
        return f"report time {ts.isoformat()} is more than {REPORT_MAX_AGE.days} days old"
    return None


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def has_bad_unicode(text: str) -> bool:
    """True when ``text`` holds a lone surrogate (it cannot be encoded as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def bad_unicode_at(value: Any, path: str = "") -> str | None:
    """The path (``readings[0].sensor``) of the first string in a parsed JSON value — key or
    value — holding a lone surrogate; None when every string encodes as UTF-8."""
    if isinstance(value, str):
        return (path or "value") if has_bad_unicode(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if has_bad_unicode(key):
                return here.encode("utf-8", "backslashreplace").decode()
            found = bad_unicode_at(item, here)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = bad_unicode_at(item, f"{path}[{index}]")
            if found:
                return found
    return None


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # \ud800 … \udfff


def bad_unicode_in_json(raw: bytes, parsed: Any = None) -> str | None:
    """:func:`bad_unicode_at` of the JSON ``raw`` (``parsed``: already decoded), skipped when
    ``raw`` has no surrogate escape — only an escape can put a lone surrogate in decoded JSON.
    None as well when ``raw`` is not JSON (its parser reports that)."""
    if not _SURROGATE_ESCAPE.search(raw):
        return None
    if parsed is None:
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError):
            return None
    return bad_unicode_at(parsed)


def invalid_unicode(where: str) -> str:
    """The reason for a lone surrogate found at ``where``."""
    return (f"invalid unicode in field {where}: a lone surrogate (\\ud800-\\udfff escape "
            "without its pair) is not text")
