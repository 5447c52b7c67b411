"""The Anlan API and duty console (FastAPI).

Public surface: :func:`api.main.create_app` (the app factory), :func:`api.cli.main` (``anlan
api``). Routes live in :mod:`api.routes` (one router per area), data access in :mod:`api.data`,
the console's static files in ``api/console/``.
"""
