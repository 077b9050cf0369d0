"""Streamlit-side helpers shared by app.py and the pages: the cached runtime, the access
guard, the login form and the chat view. Only this package and the pages import
Streamlit; everything they do goes through `core` services."""
