"""Login and sign-up throttles: the client's address cannot be spoofed, clients that cannot
be told apart never share one bucket, and attempts are counted before the password check."""

from __future__ import annotations

import threading
import time

import pytest

from core.runtime import Runtime
from core.security import accounts as accounts_module
from core.security.auth import add_user
from core.security.clients import client_from
from core.security.rate_limits import UNKNOWN_CLIENT, LoginThrottle, RateLimited

PASSWORD = "harbour-lantern-quietly-7"


@pytest.fixture
def runtime(settings, engine) -> Runtime:
    rt = Runtime.start(settings.model_copy(update={
        "login_failure_limit": "5 per 15 minutes", "login_client_limit": "5 per 15 minutes",
        "sign_up_limit": "2 per hour"}), engine=engine)
    with rt.sessions.begin() as session:
        add_user(session, "alice", PASSWORD)
    return rt


def test_the_client_is_the_address_the_trusted_proxies_saw() -> None:
    chain = {"X-Forwarded-For": "198.51.100.66, 203.0.113.7, 10.0.0.2"}  # spoofed, client, inner proxy
    assert client_from("10.0.0.1", chain, trusted_proxies=2) == "203.0.113.7"
    assert client_from("10.0.0.1", chain, trusted_proxies=1) == "10.0.0.2"
    assert client_from("10.0.0.1", chain, trusted_proxies=0) == "10.0.0.1"  # header ignored
    assert client_from(None, {"X-Forwarded-For": "10.0.0.2"}, trusted_proxies=2) == UNKNOWN_CLIENT
    assert client_from(None, {}, trusted_proxies=0) == UNKNOWN_CLIENT
    assert client_from(None, {"x-forwarded-for": "not-an-address"}, trusted_proxies=1) == UNKNOWN_CLIENT


def test_a_spoofed_forwarded_for_does_not_buy_a_fresh_bucket(runtime: Runtime) -> None:
    """Behind one trusted proxy an attacker varies the first X-Forwarded-For entry on every
    try: the proxy's own entry (the real address) still fills one bucket."""
    def attacker(attempt: int) -> str:
        return client_from(None, {"X-Forwarded-For": f"192.0.2.{attempt}, 203.0.113.9"},
                           trusted_proxies=1)

    for attempt in range(5):
        assert runtime.accounts.authenticate(f"user{attempt}", "wrong-password-here", attacker(attempt)) is None
    with pytest.raises(RateLimited):
        runtime.accounts.authenticate("alice", PASSWORD, attacker(99))
    honest = client_from(None, {"X-Forwarded-For": "203.0.113.10"}, trusted_proxies=1)
    assert runtime.accounts.authenticate("alice", PASSWORD, honest) is not None  # another client's bucket


def test_clients_of_a_same_host_proxy_do_not_share_one_bucket(runtime: Runtime) -> None:
    """Without CONCIERGE_TRUSTED_PROXIES every client of a same-host proxy is unknown: one
    of them failing on many accounts must not pause everyone's logins."""
    unknown = client_from(None, {"X-Forwarded-For": "203.0.113.9"}, trusted_proxies=0)
    for attempt in range(6):
        assert runtime.accounts.authenticate(f"user{attempt}", "wrong-password-here", unknown) is None
    assert runtime.accounts.authenticate("alice", PASSWORD, unknown) is not None
    for _ in range(5):  # the per-account limit still holds for unknown clients
        runtime.accounts.authenticate("alice", "wrong-password-here", unknown)
    with pytest.raises(RateLimited):
        runtime.accounts.authenticate("alice", PASSWORD, unknown)


def test_parallel_attempts_get_no_more_guesses_than_the_limit(runtime: Runtime, monkeypatch) -> None:
    """Ten attempts at once: only five may reach the password check. The check is held
    until every thread is either inside it or refused, so all of them race the limit."""
    checked, refused = [], []
    lock, release = threading.Lock(), threading.Event()
    real = accounts_module.authenticate

    def slow_authenticate(*args):
        with lock:
            checked.append(1)
        release.wait(timeout=30)
        return real(*args)

    monkeypatch.setattr(accounts_module, "authenticate", slow_authenticate)

    def attempt(n: int) -> None:
        try:
            runtime.accounts.authenticate("alice", f"guess-{n}", f"198.51.100.{n}")
        except RateLimited:
            with lock:
                refused.append(n)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    deadline = threading.Event()
    for _ in range(300):  # wait until every thread is in the check or refused
        with lock:
            if len(checked) + len(refused) == 10:
                break
        deadline.wait(0.05)
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert (len(checked), len(refused)) == (5, 5)


def test_one_throttle_counts_every_attempt_before_the_check() -> None:
    throttle = LoginThrottle("3 per minute")
    for _ in range(3):
        throttle.attempt("alice", "203.0.113.9")
    with pytest.raises(RateLimited, match="about 1 minute"):
        throttle.attempt("alice", "198.51.100.1")
    throttle.succeeded("alice")  # a correct password clears the account's count...
    throttle.attempt("alice", "198.51.100.1")
    with pytest.raises(RateLimited):  # ...but not the client's
        throttle.attempt("bob", "203.0.113.9")


def test_the_wait_ends_on_its_own() -> None:
    """No permanent lockout: once the window has passed, attempts are let through again
    (refused ones were not counted, so trying while paused does not extend the pause)."""
    throttle = LoginThrottle("2 per 1 second")
    throttle.attempt("alice", "203.0.113.9")
    throttle.attempt("alice", "203.0.113.9")
    deadline = time.monotonic() + 10
    with pytest.raises(RateLimited):
        throttle.attempt("alice", "203.0.113.9")
    while True:
        try:
            throttle.attempt("alice", "203.0.113.9")
            break
        except RateLimited:
            assert time.monotonic() < deadline, "still paused long after the window"
            time.sleep(0.05)


def test_sign_up_is_throttled_per_client(runtime: Runtime) -> None:
    runtime.accounts.sign_up("newbie1", PASSWORD, PASSWORD, "203.0.113.9")
    with pytest.raises(Exception, match="taken"):  # a refused form counts too
        runtime.accounts.sign_up("alice", PASSWORD, PASSWORD, "203.0.113.9")
    with pytest.raises(RateLimited, match="Too many sign-ups"):
        runtime.accounts.sign_up("newbie2", PASSWORD, PASSWORD, "203.0.113.9")
    runtime.accounts.sign_up("newbie3", PASSWORD, PASSWORD, "198.51.100.1")  # another client
