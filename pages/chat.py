"""Customer chat page."""

from ui.session import require_permission

user = require_permission("chat:use")

from ui.chat_view import render_chat  # noqa: E402  (only after the guard)
from ui.runtime import get_runtime  # noqa: E402

render_chat(get_runtime().chat, user)
