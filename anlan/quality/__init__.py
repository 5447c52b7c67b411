"""Quality control of gateway readings in the manner of Delft-FEWS (pure, no I/O).

One implementation for the live streams and the backtest: hard limits reject, soft limits,
spikes, rate of change and flat lines flag, and readings are de-duplicated by their identity.
"""

from anlan.quality.rules import KindRules, rules_for
from anlan.quality.validator import (
    CheckedReading,
    Rejection,
    SensorMemory,
    ValidationResult,
    validate_message,
)

__all__ = ["CheckedReading", "KindRules", "Rejection", "SensorMemory", "ValidationResult",
           "rules_for", "validate_message"]
