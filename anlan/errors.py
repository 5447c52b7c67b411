"""Exceptions shared by all parts.

    AnlanError
    ├── StartupError        — a service or setting a user must fix (one line, non-zero exit)
    ├── RetryableError      — a transient failure (broker down, timeout): retry with backoff
    └── PermanentError      — bad input or configuration: dead-letter it, never retry
"""

from __future__ import annotations


class AnlanError(Exception):
    """Base of every Anlan error."""


class StartupError(AnlanError):
    """Something a user must fix before a part can start; the message says what and how."""


class RetryableError(AnlanError):
    """A transient failure worth retrying."""


class PermanentError(AnlanError):
    """A failure that will not go away by retrying (bad input, bad configuration)."""
