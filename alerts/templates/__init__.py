"""Message templates (zh-CN default, en) with a short variant for SMS-length channels."""

from alerts.templates.render import (
    HAZARD_NAMES,
    SHORT_SCHEMES,
    Message,
    Renderer,
    alert_context,
    hazard_name,
    is_short,
)

__all__ = ["HAZARD_NAMES", "SHORT_SCHEMES", "Message", "Renderer", "alert_context",
           "hazard_name", "is_short"]
