"""The floor of `benchmarks.ui_latency`: the plainest Streamlit chat there is.

History in session state (seeded with `FLOOR_HISTORY` messages), an echo reply, one
sidebar button. Run by the benchmark with `streamlit run benchmarks/floor_chat.py`.
"""

import os

import streamlit as st

st.sidebar.button("New conversation")
if "history" not in st.session_state:
    st.session_state.history = [
        ("user" if i % 2 == 0 else "assistant", f"Earlier message {i}")
        for i in range(int(os.environ.get("FLOOR_HISTORY", "30")))
    ]
history = st.session_state.history
for role, text in history:
    with st.chat_message(role):
        st.markdown(text)
if prompt := st.chat_input("Say something"):
    with st.chat_message("user"):
        st.markdown(prompt)
    reply = f"Echo: {prompt}"
    with st.chat_message("assistant"):
        st.markdown(reply)
    history += [("user", prompt), ("assistant", reply)]
