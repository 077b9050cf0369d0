"""Review (supervisors and admins): turns that need a look, and one click to teach the bot.

Every label joins the training data; the model retrains in the background and goes live
only if it scores at least as well on held-out data (core.learning).
"""

from datetime import timedelta

import streamlit as st

from core.learning.labels import CONFIRM, LabelError
from core.learning.review_queue import REASONS, ReviewFilter, ReviewItem
from core.learning.service import PERMISSION, TurnNotFound
from core.storage.models import utcnow
from ui.runtime import get_runtime
from ui.session import client_address, current_user, require_permission
from ui.text import literal

user = require_permission(PERMISSION)
learning = get_runtime().learning
SINCE = {"Last day": timedelta(days=1), "Last week": timedelta(weeks=1),
         "Last 30 days": timedelta(days=30), "Any time": None}
OFF_TOPIC = "out_of_scope"


def _allowed():
    """The session and permission, checked again inside a callback (None: not any more)."""
    again = current_user()
    return again if again is not None and again.can(PERMISSION) else None


def _label(turn_id: int, key: str) -> None:
    """Button callback: store the chosen label of a turn."""
    actor = _allowed()
    if actor is None:
        st.session_state["review_notice"] = ("error", "Your session ended: log in again.")
        return
    try:
        learning.label_turn(actor, turn_id, st.session_state.get(key), client_address())
    except (LabelError, TurnNotFound) as exc:
        st.session_state["review_notice"] = ("error", f"Not labelled: {exc}")
        return
    done = f"Turn #{turn_id} labelled; the model retrains in the background."
    st.session_state["review_notice"] = ("success", done)


def _name(choice: str) -> str:
    return {CONFIRM: "✓ The answer was right", OFF_TOPIC: "Off-topic (out of scope)"}.get(
        choice, choice)


st.title("Review")
st.caption("Turns where the assistant was unsure, was told it was wrong, or handed over. "
           "Label each with what the customer wanted; the model learns from it.")
versions = learning.versions(user, limit=5)
live = next((v for v in versions if v.status == "live"), None)
st.markdown(f"**Live model:** version {live.id} ({live.labels_total:,} labelled examples)"
            if live else "**Live model:** the data pack alone (no labels yet)")
if versions and versions[0].status == "refused":
    st.warning(f"The last retrain (version {versions[0].id}) was {versions[0].reason}.",
               icon=":material/block:")
elif versions and versions[0].status == "failed":
    st.error(f"The last retrain failed: {versions[0].reason}", icon=":material/error:")
elif versions and versions[0].status == "training":
    st.info("A retrain is running.", icon=":material/hourglass_top:")
if notice := st.session_state.pop("review_notice", None):
    (st.success if notice[0] == "success" else st.error)(notice[1])

cols = st.columns(3)
reason = cols[0].selectbox("Why", ["Any", *REASONS], key="review_reason",
                           format_func=lambda r: "Any reason" if r == "Any" else REASONS[r])
since = cols[1].selectbox("Time", list(SINCE), index=1, key="review_since")
unlabelled = cols[2].toggle("Only unlabelled", value=True, key="review_unlabelled")
window = SINCE[since]
items = learning.review_queue(user, ReviewFilter(
    reason=None if reason == "Any" else reason, since=utcnow() - window if window else None,
    unlabelled_only=unlabelled, limit=50))
if not items:
    st.info("Nothing needs a look with these filters.")
    st.stop()
choices = [CONFIRM, OFF_TOPIC, *learning.label_choices()]


def show(item: ReviewItem) -> None:
    with st.container(border=True):
        st.caption(f"Turn #{item.turn_id} · {item.created_at:%Y-%m-%d %H:%M} UTC · "
                   + "; ".join(REASONS[r] for r in item.reasons)
                   + (f" · model v{item.model_version}" if item.model_version else ""))
        st.markdown("**Customer asked** (personal data masked)")
        st.text(item.customer)
        confidence = f"{item.confidence:.0%}" if item.confidence is not None else "–"
        st.markdown(f"**The bot** took route `{item.route}` with intent `{item.intent}` at "
                    f"{confidence} confidence"
                    + (f" (best guess `{item.best_guess}`)" if item.best_guess
                       and item.best_guess != item.intent else ""))
        if item.alternatives:
            st.caption("Runners-up: " + ", ".join(f"{a} {p:.2f}" for a, p in item.alternatives))
        st.markdown("**It replied**")
        st.markdown(literal(item.reply))
        if item.label:
            st.caption(f"Labelled {_name(item.label)} ({item.label_status})")
        key = f"review_label_{item.turn_id}"
        left, right = st.columns([3, 1])
        left.selectbox("The customer wanted", choices, key=key, format_func=_name,
                       label_visibility="collapsed")
        right.button("Label", key=f"review_save_{item.turn_id}", on_click=_label,
                     args=(item.turn_id, key), icon=":material/sell:")


for found in items:
    show(found)
