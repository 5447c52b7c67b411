"""Sending through Apprise: one Apprise instance per target, retry with backoff, fallback URLs."""

from alerts.notify.sender import (
    AppriseNotifier,
    Attempt,
    Notifier,
    Outcome,
    SendResult,
    backoff_delays,
    channel_of,
    deliver,
    register_log_scheme,
)

__all__ = ["AppriseNotifier", "Attempt", "Notifier", "Outcome", "SendResult", "backoff_delays",
           "channel_of", "deliver", "register_log_scheme"]
