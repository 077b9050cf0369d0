"""Customer chat page."""

from ui.session import require_permission

user = require_permission("chat:use")  # first: nothing below runs for a visitor

from ui.chat_view import render_chat
from ui.runtime import get_runtime

runtime = get_runtime()
render_chat(runtime.chat, user, runtime.waiting, runtime.settings.live_refresh_s)
