"""Anlan (安澜): what every part shares — settings, event schemas, topic names, the CLI, the local stack."""

__version__ = "0.1.0"
