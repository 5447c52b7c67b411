"""CAP 1.2 documents for alerts (GB/T 35965.1-style identifiers); the XSD ships beside this."""

from alerts.cap.build import (
    CAP_NS,
    SEVERITY,
    XSD_PATH,
    build_cap,
    cap_identifier,
    cap_sent,
    identifier_for,
    validate_cap,
)

__all__ = ["CAP_NS", "SEVERITY", "XSD_PATH", "build_cap", "cap_identifier", "cap_sent",
           "identifier_for", "validate_cap"]
