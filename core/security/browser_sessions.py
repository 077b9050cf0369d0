"""Browser sessions: a random token in a cookie, only its hash in the database.

A session ends when the user logs out, after `idle` without activity, after `absolute`
since login, when an admin disables the user, or (for the other sessions) when the user
changes their password. `resume` says which, in words the login page can show.

The cookie is set over HTTP by `ui.session_routes` (HttpOnly, SameSite=Strict): the
Streamlit script hands it a one-time code (`CookieHandoff`), never the token itself.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core.security.auth import Principal, principal_of
from core.storage.models import User, UserSession, utcnow

COOKIE_NAME = "concierge_session"
SECURE_COOKIE_NAME = f"__Host-{COOKIE_NAME}"
"""Over https: only sent back to this host, set only with Secure and Path=/ (no cookie
planted by a sibling subdomain or over plain http can take its place)."""
_TOUCH_EVERY = timedelta(seconds=30)
_ENDED = {
    "logout": "You have logged out.",
    "idle": "You were logged out after {idle} without activity. Please log in again.",
    "absolute": "Your session ended after {absolute}. Please log in again.",
    "disabled": "Your account has been disabled. Please contact support.",
    "password_changed": "Your password was changed, so you were logged out. Please log in again.",
}


class SessionEnded(Exception):
    """The session is over; the text says why (for the login page)."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class BrowserSessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)


class BrowserSessionService:
    def __init__(self, sessions: sessionmaker[Session], policy: BrowserSessionPolicy | None = None):
        self.sessions = sessions
        self.policy = policy or BrowserSessionPolicy()

    def start(self, user: Principal, client: str | None = None) -> str:
        """A new session for `user`; returns its token (256 random bits), stored only hashed."""
        token = secrets.token_urlsafe(32)
        with self.sessions.begin() as session:
            session.add(UserSession(token_hash=token_hash(token), user_id=user.id,
                                    client=(client or "")[:64] or None))
        return token

    def resume(self, token: str, now: datetime | None = None, *, touch: bool = True) -> Principal:
        """The session's user as they are now (role changes apply at once), or SessionEnded.

        `touch=False` checks without counting as activity (a live panel refreshing itself
        must not keep an idle session alive)."""
        now = now or utcnow()
        with self.sessions.begin() as session:  # commits the ending before it is reported
            # One indexed query (session and user together): it runs on every page run.
            found = session.execute(
                select(UserSession, User).outerjoin(User, User.id == UserSession.user_id)
                .where(UserSession.token_hash == token_hash(token))).first()
            if found is None:
                raise SessionEnded(_ENDED["logout"])
            row, user = found
            if row.ended_at is None:
                reason = self._expiry(row, user, now)
                if reason is None:
                    if touch and now - row.last_seen_at >= _TOUCH_EVERY:
                        row.last_seen_at = now
                    return principal_of(user)
                row.ended_at, row.end_reason = now, reason
            reason = row.end_reason or "logout"
        raise SessionEnded(self._message(reason))

    def _expiry(self, row: UserSession, user: User | None, now: datetime) -> str | None:
        if user is None or not user.is_active:
            return "disabled"
        if now - row.created_at >= self.policy.absolute:
            return "absolute"
        if now - row.last_seen_at >= self.policy.idle:
            return "idle"
        return None

    def _message(self, reason: str) -> str:
        return _ENDED.get(reason, _ENDED["logout"]).format(
            idle=_duration(self.policy.idle), absolute=_duration(self.policy.absolute))

    def end(self, token: str, reason: str = "logout") -> None:
        with self.sessions.begin() as session:
            session.execute(update(UserSession).where(
                UserSession.token_hash == token_hash(token), UserSession.ended_at.is_(None),
            ).values(ended_at=utcnow(), end_reason=reason))

    def end_all(self, session: Session, user_id: int, reason: str,
                keep_token: str | None = None) -> int:
        """End every open session of a user (but `keep_token`'s), in the caller's transaction."""
        query = update(UserSession).where(UserSession.user_id == user_id,
                                          UserSession.ended_at.is_(None))
        if keep_token:
            query = query.where(UserSession.token_hash != token_hash(keep_token))
        return session.execute(query.values(ended_at=utcnow(), end_reason=reason)).rowcount


def _duration(delta: timedelta) -> str:
    if delta < timedelta(minutes=1):
        return f"{round(delta.total_seconds())} seconds"
    minutes = round(delta.total_seconds() / 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def cookie_name(*, secure: bool) -> str:
    """The session cookie's name: `__Host-` prefixed whenever the app is served over https."""
    return SECURE_COOKIE_NAME if secure else COOKIE_NAME


class CookieHandoff:
    """One-time codes (valid for a minute) that the cookie route exchanges for a token.

    A code is issued for one browser tab (`tab`, a random nonce that tab holds) and is
    only claimed together with that nonce, so a code used from another tab is refused.
    """

    def __init__(self, ttl_s: float = 60.0):
        self.ttl_s = ttl_s
        self._codes: dict[str, tuple[str, str, float]] = {}
        self._lock = threading.Lock()

    def offer(self, token: str, tab: str) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            now = time.monotonic()
            self._codes = {c: v for c, v in self._codes.items() if v[2] > now}
            self._codes[code] = (token, tab, now + self.ttl_s)
        return code

    def claim(self, code: str, tab: str) -> str | None:
        """The token for `code` if it was issued for `tab` and has not expired (either way
        the code is spent: a wrong guess of the tab cannot be retried)."""
        with self._lock:
            token, issued_for, expires = self._codes.pop(code, (None, "", 0.0))
        if token and expires > time.monotonic() and secrets.compare_digest(issued_for.encode(), tab.encode()):
            return token
        return None


COOKIE_HANDOFF = CookieHandoff()
"""The server's one handoff store: the script offers, the cookie route claims (same process)."""
