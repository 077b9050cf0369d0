"""The three agents of a turn (intent, retrieval, answer) as plain, typed Python.

Each agent is testable on its own, without LangGraph, a database or a network.
"""
