"""Customer chat page."""

from ui.session import require_permission

user = require_permission("chat:use")  # first: nothing below runs for a visitor

from ui.chat_view import render_chat
from ui.runtime import get_runtime

render_chat(get_runtime().chat, user)
