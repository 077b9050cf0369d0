"""The engine: the intent, retrieval and answer agents wired into one LangGraph workflow, the data packs they learn from, the answer model and cache, and evaluation."""
