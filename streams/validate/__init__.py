"""Quality control of gateway readings in the manner of Delft-FEWS (pure, no I/O)."""

from streams.validate.rules import KindRules, rules_for
from streams.validate.validator import SensorMemory, ValidationResult, validate_message

__all__ = ["KindRules", "SensorMemory", "ValidationResult", "rules_for", "validate_message"]
