"""The HTTP route that sets and clears the session cookie (HttpOnly, SameSite=Strict).

A Streamlit script cannot set cookies, so after a login the page posts a one-time code
here (see `ui.session.sync_cookie`) and gets the token back only as an HttpOnly cookie
that page scripts can never read.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.config import get_settings
from core.security.browser_sessions import COOKIE_HANDOFF, COOKIE_NAME


async def _session_cookie(request: Request) -> Response:
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    if request.method == "DELETE":
        response = Response(status_code=204)
        response.delete_cookie(COOKIE_NAME, path="/", secure=secure, httponly=True,
                               samesite="strict")
        return response
    try:
        body = await request.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    token = COOKIE_HANDOFF.claim(code) if isinstance(code, str) else None
    if token is None:
        return Response("unknown or expired code", status_code=400)
    response = Response(status_code=204)
    response.set_cookie(COOKIE_NAME, token, max_age=int(get_settings().session_absolute_hours * 3600),
                        path="/", secure=secure, httponly=True, samesite="strict")
    return response


ROUTES = [Route("/api/session", _session_cookie, methods=["POST", "DELETE"])]
