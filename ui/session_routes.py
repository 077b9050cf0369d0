"""The HTTP route that sets and clears the session cookie (HttpOnly, SameSite=Strict).

A Streamlit script cannot set cookies, so after a login the page posts a one-time code
here (see `ui.session_cookie.sync_cookie`) and gets the token back only as an HttpOnly cookie
that page scripts can never read.

The route is a login-CSRF target (a cross-site post of an attacker's code would log the
victim into the attacker's account), so it accepts only a same-origin request
(`Sec-Fetch-Site: same-origin`, or an `Origin` matching `Host`), only
`Content-Type: application/json` (which a cross-site form cannot send without a CORS
preflight), at most `MAX_BODY_BYTES`, and only a code claimed with the per-tab nonce it
was issued for. Over https the cookie is `__Host-` prefixed and `Secure`.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.config import get_settings
from core.security.browser_sessions import COOKIE_HANDOFF, cookie_name

MAX_BODY_BYTES = 1024


def _same_origin(request: Request) -> bool:
    """Sent by our own page: what the browser says (Sec-Fetch-Site), else Origin vs Host."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin, host = request.headers.get("origin"), request.headers.get("host")
    return bool(origin and host) and urlsplit(origin).netloc.lower() == host.lower()


def _over_https(request: Request) -> bool:
    """Whether the browser reached us over https (its Origin), directly or through a proxy."""
    return (request.url.scheme == "https"
            or (request.headers.get("origin") or "").lower().startswith("https://")
            or request.headers.get("x-forwarded-proto") == "https")


async def _body(request: Request) -> bytes | None:
    """The request body, or None when it is larger than MAX_BODY_BYTES (read no further)."""
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return body


async def _session_cookie(request: Request) -> Response:
    if not _same_origin(request):
        return Response("cross-site request refused", status_code=403)
    secure = _over_https(request)
    name = cookie_name(secure=secure)
    if request.method == "DELETE":
        response = Response(status_code=204)
        response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="strict")
        return response
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        return Response("JSON only", status_code=415)
    raw = await _body(request)
    if raw is None:
        return Response("request too large", status_code=413)
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    code, tab = (body.get("code"), body.get("tab")) if isinstance(body, dict) else (None, None)
    token = (COOKIE_HANDOFF.claim(code, tab)
             if isinstance(code, str) and isinstance(tab, str) else None)
    if token is None:
        return Response("unknown or expired code", status_code=400)
    response = Response(status_code=204)
    response.set_cookie(name, token, max_age=int(get_settings().session_absolute_hours * 3600),
                        path="/", secure=secure, httponly=True, samesite="strict")
    return response


ROUTES = [Route("/api/session", _session_cookie, methods=["POST", "DELETE"])]
