"""Concierge core: settings, storage, the LangGraph workflow and the services pages call.

Nothing in this package imports Streamlit; pages are thin and call these services.
"""
