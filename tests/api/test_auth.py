"""Auth over real HTTP: login, tokens, API tokens, roles, user administration."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from anlan.settings import Settings
from api.options import ApiOptions
from tests.api.conftest import PASSWORD, Server

pytestmark = pytest.mark.integration


def _from_address(server: Server, address: str) -> httpx.Client:
    """A client whose requests come from another loopback address (its own rate limits)."""
    return httpx.Client(base_url=server.base_url, timeout=15,
                        transport=httpx.HTTPTransport(local_address=address))


def test_login_and_me(client: httpx.Client) -> None:
    resp = client.post("/api/v1/auth/login", json={"username": "cg_officer", "password": PASSWORD})
    assert resp.status_code == 200
    body = resp.json()
    assert body["user"] == {"username": "cg_officer", "display_name": "cg_officer",
                            "role": "duty_officer", "region": "360121100", "person_id": None}
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["region"] == "360121100"


@pytest.mark.parametrize("username,password", [("cg_officer", "wrong-password"),
                                               ("nobody", PASSWORD)])
def test_login_rejects_bad_credentials(client: httpx.Client, username: str,
                                       password: str) -> None:
    resp = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert resp.status_code == 401


def test_login_validation_names_fields(client: httpx.Client) -> None:
    resp = client.post("/api/v1/auth/login", json={"username": ""})
    assert resp.status_code == 422
    fields = {tuple(e["loc"]) for e in resp.json()["detail"]}
    assert ("body", "username") in fields and ("body", "password") in fields


@pytest.mark.parametrize("header", [None, "Bearer garbage", "Bearer a.b",
                                    "Bearer anl_not-a-real-token"])
def test_protected_routes_need_a_valid_token(client: httpx.Client, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    resp = client.get("/api/v1/auth/me", headers=headers)
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"


def test_forged_token_is_rejected(client: httpx.Client, tokens: dict[str, str]) -> None:
    payload, _, sig = tokens["cg_viewer"].partition(".")
    forged = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + sig
    resp = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert resp.status_code == 401


def test_api_token_lifecycle(as_user: Callable[[str], httpx.Client]) -> None:
    c = as_user("cg_officer")
    created = c.post("/api/v1/auth/tokens", json={"name": "river gauge integration"})
    assert created.status_code == 201
    token, token_id = created.json()["token"], created.json()["id"]
    assert token.startswith("anl_")
    me = c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == "cg_officer"
    listed = c.get("/api/v1/auth/tokens").json()
    assert any(t["id"] == token_id and t["last_used_at"] for t in listed)
    assert all("token" not in t for t in listed)
    assert c.delete(f"/api/v1/auth/tokens/{token_id}").status_code == 204
    again = c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 401


def test_admin_creates_users_only_in_own_subtree(as_user: Callable[[str], httpx.Client]) -> None:
    c = as_user("admin")
    ok = c.post("/api/v1/users", json={"username": "qd_leader", "password": "a-long-password",
                                       "role": "leader", "region": "360121100002"})
    assert ok.status_code == 201, ok.text
    dup = c.post("/api/v1/users", json={"username": "qd_leader", "password": "a-long-password",
                                        "role": "leader", "region": "360121100002"})
    assert dup.status_code == 409
    outside = c.post("/api/v1/users", json={"username": "far", "password": "a-long-password",
                                            "role": "leader", "region": "440305"})
    assert outside.status_code == 403
    bad = c.post("/api/v1/users", json={"username": "x y", "password": "short", "role": "king",
                                        "region": "12"})
    assert bad.status_code == 422
    assert {e["loc"][-1] for e in bad.json()["detail"]} == {"username", "password", "role",
                                                            "region"}
    assert "qd_leader" in {u["username"] for u in c.get("/api/v1/users").json()}
    assert as_user("cg_officer").get("/api/v1/users").status_code == 403


def test_login_accepts_an_oauth2_form(client: httpx.Client) -> None:
    resp = client.post("/api/v1/auth/login", data={"username": "cg_officer",
                                                   "password": PASSWORD})
    assert resp.status_code == 200 and resp.json()["user"]["username"] == "cg_officer"
    bad = client.post("/api/v1/auth/login", data={"username": "cg_officer"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "password"]
    junk = client.post("/api/v1/auth/login", content=b"{not json",
                       headers={"content-type": "application/json"})
    assert junk.status_code == 422


def test_failed_logins_are_rate_limited(api_server: Server) -> None:
    body = {"username": "brute_target", "password": "guess-guess"}
    with _from_address(api_server, "127.0.0.30") as client:
        codes = [client.post("/api/v1/auth/login", json=body).status_code for _ in range(12)]
        assert codes[:10] == [401] * 10 and codes[-1] == 429
        limited = client.post("/api/v1/auth/login", json={**body, "password": PASSWORD})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        other = client.post("/api/v1/auth/login", json={"username": "cg_viewer",
                                                        "password": PASSWORD})
        assert other.status_code == 200  # per username: the others still log in


def test_admin_disables_a_user_at_once(as_user: Callable[[str], httpx.Client],
                                       client: httpx.Client) -> None:
    admin = as_user("admin")
    assert admin.post("/api/v1/users", json={"username": "temp_officer",
                                             "password": "temp-password", "role": "duty_officer",
                                             "region": "360121101"}).status_code == 201
    login = client.post("/api/v1/auth/login", json={"username": "temp_officer",
                                                    "password": "temp-password"}).json()
    bearer = {"Authorization": f"Bearer {login['access_token']}"}
    api_token = client.post("/api/v1/auth/tokens", json={"name": "x"}, headers=bearer).json()
    assert admin.patch("/api/v1/users/temp_officer", json={"active": False}).status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer).status_code == 401
    assert client.get("/api/v1/auth/me", headers={
        "Authorization": f"Bearer {api_token['token']}"}).status_code == 401
    assert client.post("/api/v1/auth/login", json={"username": "temp_officer",
                                                   "password": "temp-password"}
                       ).status_code == 401
    assert admin.patch("/api/v1/users/temp_officer",
                       json={"active": True, "password": "new-password"}).status_code == 204
    assert client.post("/api/v1/auth/login", json={"username": "temp_officer",
                                                   "password": "new-password"}
                       ).status_code == 200
    assert admin.patch("/api/v1/users/nobody", json={"active": False}).status_code == 404
    assert as_user("hk_officer").patch("/api/v1/users/temp_officer",
                                       json={"active": False}).status_code == 403
    assert admin.patch("/api/v1/users/temp_officer", json={"password": "short"}
                       ).status_code == 422


@pytest.mark.parametrize("content_type,body", [
    ("application/json", b"\xff\xfe{\"username\": \"a\"}"),
    ("application/json", b'{"username": "\xc3\x28", "password": "\xa0\xa1"}'),
    ("application/x-www-form-urlencoded", b"username=\xff&password=\xfe\xfd"),
    ("text/plain", b"\x80\x81\x82"),
    ("multipart/form-data; boundary=x",
     b'--x\r\nContent-Disposition: form-data; name="username"\r\n\r\n\xff\r\n--x--\r\n'),
])
def test_login_with_a_body_that_is_not_utf8_is_refused_not_a_500(
        api_server: Server, content_type: str, body: bytes) -> None:
    with _from_address(api_server, "127.0.0.31") as c:
        resp = c.post("/api/v1/auth/login", content=body, headers={"content-type": content_type})
    assert resp.status_code in (401, 422), resp.text
    if resp.status_code == 422:
        assert resp.json()["detail"][0]["loc"][0] == "body"


def test_password_spraying_from_one_address_is_throttled(api_server: Server) -> None:
    """One wrong password for each of 30 names: the address's budget (20 per 10 minutes by
    default) runs out whatever the names; other addresses are not affected."""
    with _from_address(api_server, "127.0.0.32") as sprayer:
        codes = [sprayer.post("/api/v1/auth/login", json={
            "username": f"user{i:02d}", "password": "Spring2026!"}).status_code
            for i in range(30)]
        assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}
        right = sprayer.post("/api/v1/auth/login", json={"username": "cg_viewer",
                                                         "password": PASSWORD})
        assert right.status_code == 429  # else a 200 among 429s tells which guess was right
        assert 1 <= int(right.headers["retry-after"]) <= 600
    with _from_address(api_server, "127.0.0.33") as elsewhere:
        assert elsewhere.post("/api/v1/auth/login", json={"username": "cg_viewer",
                                                          "password": PASSWORD}
                              ).status_code == 200


def test_patch_user_with_an_unknown_field_is_a_422(as_user: Callable[[str], httpx.Client],
                                                    client: httpx.Client) -> None:
    admin = as_user("admin")
    for body in ({"role": "admin"}, {"active": False, "region": "360121"}, {"passwrd": "x" * 9}):
        resp = admin.patch("/api/v1/users/cg_viewer", json=body)
        assert resp.status_code == 422, (body, resp.text)
        assert resp.json()["detail"][0]["type"] == "extra_forbidden"
    viewer = next(u for u in admin.get("/api/v1/users").json() if u["username"] == "cg_viewer")
    assert viewer["role"] == "viewer"  # nothing changed
    assert client.post("/api/v1/auth/login", json={"username": "cg_viewer", "password": PASSWORD}
                       ).status_code == 200
    assert admin.post("/api/v1/users", json={"username": "extra_field", "password": "long-enough",
                                             "role": "viewer", "region": "360121100",
                                             "is_superuser": True}).status_code == 422


def _login(client: httpx.Client, name: str, password: str = PASSWORD) -> dict[str, str]:
    resp = client.post("/api/v1/auth/login", json={"username": name, "password": password})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


@pytest.fixture(scope="module")
def second_server(api_settings: Settings, seeded_db: str) -> Iterator[Server]:
    """Another API process on the same database (revocations must hold across processes)."""
    server = Server(api_settings, ApiOptions()).start()
    yield server
    server.stop()


def test_logout_revokes_the_token_in_every_process(client: httpx.Client,
                                                   second_server: Server) -> None:
    first, other = _login(client, "hk_officer"), _login(client, "hk_officer")
    with httpx.Client(base_url=second_server.base_url, timeout=15) as elsewhere:
        assert elsewhere.get("/api/v1/auth/me", headers=first).status_code == 200
        assert client.post("/api/v1/auth/logout", headers=first).status_code == 204
        assert client.get("/api/v1/auth/me", headers=first).status_code == 401
        assert elsewhere.get("/api/v1/auth/me", headers=first).status_code == 401
        assert elsewhere.get("/api/v1/auth/me", headers=other).status_code == 200  # that one
    assert client.post("/api/v1/auth/logout", headers=first).status_code == 204  # idempotent
    assert client.post("/api/v1/auth/logout").status_code == 204


def test_admin_revokes_all_of_a_users_tokens(as_user: Callable[[str], httpx.Client],
                                             client: httpx.Client) -> None:
    admin = as_user("admin")
    assert admin.post("/api/v1/users", json={"username": "lost_phone", "password": "lost-phone-1",
                                             "role": "duty_officer", "region": "360121100"}
                      ).status_code == 201
    logins = [_login(client, "lost_phone", "lost-phone-1") for _ in range(2)]
    api_token = client.post("/api/v1/auth/tokens", json={"name": "x"}, headers=logins[0]).json()
    every = [*logins, {"Authorization": f"Bearer {api_token['token']}"}]
    assert all(client.get("/api/v1/auth/me", headers=h).status_code == 200 for h in every)
    assert as_user("cg_officer").post("/api/v1/users/lost_phone/revoke-tokens"
                                      ).status_code == 403
    assert admin.post("/api/v1/users/nobody/revoke-tokens").status_code == 404
    assert admin.post("/api/v1/users/lost_phone/revoke-tokens").status_code == 204
    assert [client.get("/api/v1/auth/me", headers=h).status_code for h in every] == [401] * 3
    fresh = _login(client, "lost_phone", "lost-phone-1")  # may log in again (not disabled)
    assert client.get("/api/v1/auth/me", headers=fresh).status_code == 200
