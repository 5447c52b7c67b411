"""Silence and offline detection for gateways and sensors (pure)."""

from streams.timers.silence import Outage, SilenceWatch, maintenance_messages

__all__ = ["Outage", "SilenceWatch", "maintenance_messages"]
