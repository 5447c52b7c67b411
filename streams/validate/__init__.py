"""Validation of gateway readings: the rules live in :mod:`anlan.quality` (shared with the
backtest); this adapter encodes the validated readings for ``anlan.readings``."""

from anlan.quality import SensorMemory, ValidationResult, validate_message
from streams.validate.events import readings_event

__all__ = ["SensorMemory", "ValidationResult", "readings_event", "validate_message"]
