"""The `runtime` fixture the page tests share: a scratch runtime with alice, max, sam and
ada."""

from __future__ import annotations

import pytest

from core.runtime import Runtime
from ui import runtime as ui_runtime

PASSWORD = "harbour-lantern-quietly-7"


@pytest.fixture
def runtime(settings, engine, monkeypatch) -> Runtime:
    rt = Runtime.start(settings, engine=engine)
    with rt.sessions.begin() as session:
        from core.security.auth import add_user

        for name, role in (("alice", "customer"), ("max", "agent"), ("sam", "supervisor"),
                           ("ada", "admin")):
            add_user(session, name, PASSWORD, role)
    monkeypatch.setattr(ui_runtime, "override", rt)
    return rt
