"""Showing customer text safely: as literal text, never as Markdown or HTML."""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&=\"'])")


def literal(text: str) -> str:
    """Text with every Markdown-active character escaped, for st.markdown.

    Streamlit never renders HTML in st.markdown without unsafe_allow_html; escaping also
    stops links (including `javascript:` ones), emphasis, colour directives and
    shortcodes from turning a customer's words into anything but words.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")
