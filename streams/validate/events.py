"""The ``anlan.readings`` event of a validated gateway message (the hot path's encoding)."""

from __future__ import annotations

from anlan.events import RawReadings
from anlan.quality import CheckedReading
from streams.codec import dumps


def readings_event(msg: RawReadings, readings: list[CheckedReading]) -> bytes:
    """The ``anlan.readings`` event (a :class:`anlan.events.Readings`) of a gateway message."""
    return dumps({"gateway_id": msg.gateway_id, "seq": msg.seq, "received_at": msg.received_at,
                  "readings": readings, "exercise": msg.exercise})
