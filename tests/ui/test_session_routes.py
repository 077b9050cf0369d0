"""The cookie route refuses login CSRF: cross-site form posts, wrong origins, non-JSON
bodies, oversized bodies and codes claimed from another tab; over https the cookie is
`__Host-` prefixed and Secure."""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.security.browser_sessions import COOKIE_HANDOFF
from ui.session_routes import MAX_BODY_BYTES, ROUTES

SITE = "http://chat.example"
SAME_ORIGIN = {"Origin": SITE, "Content-Type": "application/json"}


@pytest.fixture
def client() -> TestClient:
    return TestClient(Starlette(routes=ROUTES), base_url=SITE)


def _post(client: TestClient, body: object, headers: dict[str, str]):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/api/session", content=data, headers=headers)


def test_the_tab_that_asked_for_the_code_gets_the_cookie(client) -> None:
    code = COOKIE_HANDOFF.offer("token-1", "tab-a")
    response = _post(client, {"code": code, "tab": "tab-a"}, SAME_ORIGIN)
    assert response.status_code == 204
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("concierge_session=token-1;")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    assert _post(client, {"code": code, "tab": "tab-a"}, SAME_ORIGIN).status_code == 400  # one-time


def test_a_code_used_from_another_tab_is_refused(client) -> None:
    code = COOKIE_HANDOFF.offer("token-2", "tab-a")
    for tab in ("tab-b", "", "tab-a-but-longer"):
        response = _post(client, {"code": code, "tab": tab}, SAME_ORIGIN)
        assert response.status_code == 400 and "set-cookie" not in response.headers
    assert _post(client, {"code": code}, SAME_ORIGIN).status_code == 400


def test_a_cross_site_form_post_is_refused(client) -> None:
    """What an attacker's page can send without a CORS preflight: a text/plain form post
    shaped as JSON, with the browser's own Origin and Sec-Fetch-Site headers."""
    code = COOKIE_HANDOFF.offer("token-3", "tab-a")
    body = json.dumps({"code": code, "tab": "tab-a", "x": "="})
    for headers in (
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"},
        {"Origin": "https://evil.example", "Content-Type": "text/plain"},
        {"Origin": "null", "Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "text/plain"},  # no Origin at all
    ):
        response = _post(client, body, headers)
        assert response.status_code == 403 and "set-cookie" not in response.headers
    assert _post(client, body, {"Origin": SITE, "Content-Type": "text/plain"}).status_code == 415
    assert _post(client, {"code": code, "tab": "tab-a"}, SAME_ORIGIN).status_code == 204  # unspent


def test_a_wrong_origin_json_post_is_refused(client) -> None:
    code = COOKIE_HANDOFF.offer("token-4", "tab-a")
    body = {"code": code, "tab": "tab-a"}
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "http://chat.example.evil.example"},
                    {"Origin": SITE, "Sec-Fetch-Site": "same-site"},
                    {"Sec-Fetch-Site": "cross-site"}):
        response = _post(client, body, {"Content-Type": "application/json", **headers})
        assert response.status_code == 403
    assert client.delete("/api/session", headers={"Origin": "https://evil.example"}).status_code == 403
    same_site_fetch = {"Sec-Fetch-Site": "same-origin", "Content-Type": "application/json"}
    assert _post(client, body, same_site_fetch).status_code == 204  # what our page's fetch sends


def test_an_oversized_body_is_refused_unread(client) -> None:
    code = COOKIE_HANDOFF.offer("token-5", "tab-a")
    padded = {"code": code, "tab": "tab-a", "pad": "x" * MAX_BODY_BYTES}
    assert _post(client, padded, SAME_ORIGIN).status_code == 413
    streamed = client.post("/api/session", content=iter([json.dumps(padded).encode()]),
                           headers=SAME_ORIGIN)  # chunked: no Content-Length to trust
    assert streamed.status_code == 413


def test_over_https_the_cookie_is_host_prefixed_and_secure() -> None:
    client = TestClient(Starlette(routes=ROUTES), base_url="https://chat.example")
    code = COOKIE_HANDOFF.offer("token-6", "tab-a")
    response = _post(client, {"code": code, "tab": "tab-a"},
                     {"Origin": "https://chat.example", "Content-Type": "application/json"})
    assert response.status_code == 204
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-concierge_session=token-6;")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    logout = client.delete("/api/session", headers={"Origin": "https://chat.example"})
    assert logout.headers["set-cookie"].startswith("__Host-concierge_session=")
