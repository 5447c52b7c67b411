"""The Anlan API and duty console (FastAPI).

Public surface::

    api.main.create_app(settings, options=None) -> FastAPI   the app factory (lifespan opens the
                                                             DB pool, Kafka producer, live stream)
    api.cli.main(argv) -> int                                `anlan api [--host --port]`,
                                                             `anlan api create-user …`
    api.options.ApiOptions                                   tunables (token TTL, rate limits…)
    api.accounts.create_user / issue_api_token               users and API tokens

Routes live in :mod:`api.routes` (one router per area), reads in :mod:`api.data`, pure logic in
:mod:`api.scope`, :mod:`api.security`, :mod:`api.ratelimit`, :mod:`api.timeline`,
:mod:`api.evidence`, the console's static files in ``api/console/``. See ``api/README.md``.
"""
