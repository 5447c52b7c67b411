"""The OpenAPI fuzzer (schemathesis) against the real app over real HTTP.

Every operation of ``/openapi.json`` gets generated requests, valid and invalid (positive and
negative data), sent by ``requests`` to uvicorn on a loopback port, authenticated as a county
administrator (so the fuzzer gets past 401/403 into the handlers). A run fails on any 5xx and on
a response that does not match its documented schema or content type.

The server runs on a database of its own: an administrator's random PUTs, DELETEs and imports
must not disturb the other API tests' directory.

The pytest plugin's ``schema.parametrize()`` fails under pytest 9.2 (schemathesis 4.32 sets
``request.node._nodeid``, which pytest no longer has), so the test drives schemathesis's
per-operation Hypothesis strategies itself and collects every operation's failure.

Bounded and seeded for CI: ``ANLAN_FUZZ_EXAMPLES`` examples per operation (default 12) with a
fixed seed (``ANLAN_FUZZ_SEED``, default 13). For a longer manual run::

    ANLAN_FUZZ_EXAMPLES=500 ANLAN_FUZZ_SEED=$RANDOM .venv/bin/python -m pytest -q \
        tests/api/test_fuzz.py
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import uuid
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import HypothesisDeprecationWarning, Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from anlan.settings import Settings
from anlan.stack.database import drop_database, ensure_database
from api import accounts
from api.options import ApiOptions
from tests.api.conftest import PASSWORD, Server

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("ANLAN_FUZZ_EXAMPLES", "12"))
SEED = int(os.environ.get("ANLAN_FUZZ_SEED", "13"))
FUZZ_ADMIN = "fuzz-admin-0b7e"
# The SSE stream never ends a response: it is covered by tests/api/test_live_and_public.py.
SKIPPED_PATHS = ("/api/v1/stream",)


def _load_the_fuzzer_now() -> None:
    """Import all of schemathesis, and draw one case of each kind from a tiny schema, while no
    server thread runs. pytest rewrites the asserts of a plugin's modules as they are imported
    (``ast.parse``), schemathesis imports most of itself lazily, and CPython 3.11 keeps the AST
    builder's recursion counter in state shared by all threads: an import during the fuzzing,
    while a server thread imported a module too (anyio's, say), failed once with "SystemError:
    AST constructor recursion depth mismatch"."""
    for module in pkgutil.walk_packages(schemathesis.__path__, "schemathesis."):
        try:
            importlib.import_module(module.name)
        except ImportError:
            pass  # optional integrations (allure)
    tiny = schemathesis.openapi.from_dict({
        "openapi": "3.0.3", "info": {"title": "warm-up", "version": "1"},
        "paths": {"/x/{id}": {"post": {
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "string"}},
                           {"name": "q", "in": "query", "schema": {"type": "integer"}}],
            "requestBody": {"content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "n": {"type": "integer"}, "s": {"type": "string", "pattern": "^a+$"}}}},
                "multipart/form-data": {"schema": {"type": "object", "properties": {
                    "f": {"type": "string", "format": "binary"}}}}}},
            "responses": {"200": {"description": "ok"}}}}}})
    for result in tiny.get_all_operations():
        assert isinstance(result, Ok)
        for mode in GenerationMode:
            @settings(max_examples=2, database=None, suppress_health_check=list(HealthCheck))
            @given(case=result.ok().as_strategy(generation_mode=mode))
            def draw(case: Case) -> None:
                case.as_transport_kwargs(base_url="http://127.0.0.1:9")

            draw()


with warnings.catch_warnings():  # see the filter on the test below
    warnings.simplefilter("ignore", HypothesisDeprecationWarning)
    _load_the_fuzzer_now()


@pytest.fixture(scope="module")
def fuzz_server(make_settings: Callable[..., Settings], database_url: str) -> Iterator[Server]:
    from alerts.directory import db as directory_db
    from alerts.directory import read_file
    from store.migrate import migrate

    base = database_url.rsplit("/", 1)[0]
    url = ensure_database(f"{base}/anlan_fuzz_{os.getpid()}_{uuid.uuid4().hex[:8]}")
    migrate(url)
    settings = make_settings(api_secret="fuzz-secret-" + uuid.uuid4().hex, database_url=url)
    with psycopg.connect(url, autocommit=True) as conn:
        directory_db.save(conn, read_file(settings.directory_file), "tests")
        accounts.create_user(conn, FUZZ_ADMIN, PASSWORD, "admin", "360121")
    # the fuzzer's failed logins all come from 127.0.0.1: a budget it cannot spend
    options = ApiOptions(login_limit="1000000/minute", login_address_limit="1000000/minute")
    server = Server(settings, options).start()
    try:
        yield server
    finally:
        server.stop()
        drop_database(url)


class AdminToken:
    """The county administrator's login token, fetched again after a 401: the fuzzer may log
    itself out or revoke its own tokens."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.token = self.login()

    def login(self) -> str:
        resp = httpx.post(f"{self.base_url}/api/v1/auth/login",
                          json={"username": FUZZ_ADMIN, "password": PASSWORD}, timeout=15)
        resp.raise_for_status()
        return str(resp.json()["access_token"])

    def call(self, case: Case) -> Any:
        response = case.call(headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
        if response.status_code == 401:
            self.token = self.login()
            response = case.call(headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
        return response


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _fuzz(operation: APIOperation, mode: GenerationMode, auth: AdminToken) -> None:
    @seed(SEED)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        case.validate_response(auth.call(case), checks=CHECKS)

    run()


def _explain(exc: BaseException) -> str:
    """The failure's own text (Hypothesis wraps it when a repeat passed: state changed)."""
    while isinstance(exc, BaseExceptionGroup) and not str(exc).startswith("Schemathesis"):
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"


# schemathesis's negative-data strategies touch the global `random` module, which Hypothesis
# deprecates (a warning about the library's own strategies, not about this project)
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies"
                            ":hypothesis.errors.HypothesisDeprecationWarning")
def test_no_request_gets_a_5xx_or_breaks_its_schema(fuzz_server: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_server.base_url}/openapi.json")
    schema.config.update(base_url=fuzz_server.base_url)
    auth = AdminToken(fuzz_server.base_url)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"schema: {result.err()}")
            continue
        operation = result.ok()
        if operation.path in SKIPPED_PATHS:
            continue
        operations += 1
        for mode in GenerationMode:
            try:
                _fuzz(operation, mode, auth)
            except Unsatisfiable:
                continue  # nothing to generate (e.g. no negative data for a bare GET)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect them all
                failures.append(f"{operation.label} [{mode.value}]: {_explain(exc)}")
    assert operations >= 45  # every router's operations were reached
    assert not failures, "\n\n".join(failures)
