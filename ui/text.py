"""Showing text safely: customer text as literal text; replies as Markdown with no link,
image or HTML able to appear, whatever the model wrote."""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&=\"'])")
_LINK_SYNTAX = re.compile(r"([\\\[\]<>&$])")
"""Backslashes (so none can undo an escape), brackets (inline and reference links and
images, reference definitions, Streamlit's `:color[...]` directives), angle brackets
(autolinks, HTML), ampersands (entities) and dollars (KaTeX, whose `\\href` links)."""
_URL_LIKE = re.compile(r"\S*(?:://|www\.|@|\bmailto:|\bjavascript:|\bdata:)\S*", re.IGNORECASE)
"""Words GitHub-flavoured Markdown would turn into links: schemes, `www.`, e-mail addresses."""
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_SEPARATOR = re.compile(r"([:.@])")
_JOINER = "\u2060"
"""WORD JOINER, invisible: before each `:`, `.` and `@` of a URL-like word it leaves no
scheme, `www.` or address for Streamlit's GFM autolinker, which finds them in the text
after Markdown escapes are resolved (escaping alone does not stop it)."""


def literal(text: str) -> str:
    """Text with every Markdown-active character escaped, for st.markdown.

    Streamlit never renders HTML in st.markdown without unsafe_allow_html; escaping also
    stops links (including `javascript:` ones), emphasis, colour directives and
    shortcodes from turning a customer's words into anything but words.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


def reply_markdown(text: str) -> str:
    """A reply (ours or a model's) for st.markdown: emphasis, lists and headings still
    render, but no link, image, autolink, bare URL, e-mail link or HTML can.

    Link syntax is escaped everywhere; in a URL-like word every punctuation mark is
    escaped and every separator preceded by an invisible word joiner, so the GFM
    autolinker finds no scheme, `www.` or address to link. Sources are shown separately,
    as plain titles.
    """

    def escape(word: re.Match[str]) -> str:
        found = word.group(0)
        if not _URL_LIKE.fullmatch(found):
            return _LINK_SYNTAX.sub(r"\\\1", found)
        return _PUNCTUATION.sub(r"\\\1", _SEPARATOR.sub(_JOINER + r"\1", found))

    return re.sub(r"\S+", escape, text)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP's CSV injection list)."""


def spreadsheet_safe(rows: list[dict]) -> list[dict]:
    """Rows for st.dataframe, whose toolbar downloads them as CSV: a text cell that a
    spreadsheet would run as a formula gets a leading apostrophe (numbers are left alone)."""
    return [{key: "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS)
             else value for key, value in row.items()} for row in rows]
