"""Alerts: directory, recipients, templates, CAP 1.2, Apprise dispatch, escalation and
mobilization. The pure core (``recipients``, ``escalation``, ``templates``, ``cap``,
``mobilization.waves``, ``mobilization.welfare``) does no I/O; ``dispatch``, ``notify`` and the
repositories are the adapters."""
