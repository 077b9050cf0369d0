"""Inbox (agents and supervisors): conversations waiting for a person; take and work them."""

from ui.session import require_permission

user = require_permission("inbox:work")  # first: nothing below runs for anyone else

from ui.inbox_view import render_inbox
from ui.runtime import get_runtime

render_inbox(get_runtime(), user)
