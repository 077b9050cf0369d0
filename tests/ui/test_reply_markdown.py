"""Replies are shown as Markdown that can carry no link or image: reference links and
images, autolinks, bare URLs, e-mail addresses, HTML and KaTeX links are all neutralised,
while emphasis and lists still render. (The browser test in tests/e2e/test_model_browser.py
checks the same in Streamlit's own renderer, GFM autolinks included.)"""

from __future__ import annotations

import re
from html import unescape

import pytest
from markdown_it import MarkdownIt

from ui.text import reply_markdown

HOSTILE = {
    "reference link": "Read [our policy][p] now.\n\n[p]: https://evil.example/login",
    "reference image": "![tracker][t]\n\n[t]: https://evil.example/pixel.png",
    "collapsed reference": "[here][]\n\n[here]: https://evil.example",
    "inline link": "[open](https://evil.example)",
    "inline image": "![x](https://evil.example/x.png)",
    "autolink": "Go to <https://evil.example/reset> today",
    "e-mail autolink": "Write to <help@evil.example>",
    "html image": '<img src="https://evil.example/x.png">',
    "escaped bracket trick": r"\[click](https://evil.example)",
    "entity brackets": "&#91;click&#93;(https://evil.example)",
    "colour directive": ":red[urgent] [1]",
}
NO_LINK_IN_COMMONMARK = {"escaped bracket trick", "entity brackets", "colour directive"}
BARE = ["https://evil.example/reset?token=1", "www.evil.example/login", "help@evil.example",
        "javascript:alert(1)", "HTTP://EVIL.EXAMPLE"]


GFM_URL = re.compile(r"(https?://|www(?=\.))[-.\w]+", re.IGNORECASE | re.ASCII)
GFM_EMAIL = re.compile(r"[-.\w+]+@[-\w]+(?:\.[-\w]+)+", re.ASCII)
"""What remark-gfm (Streamlit's renderer) links in text after escapes are resolved:
mdast-util-gfm-autolink-literal's patterns (JavaScript's `\\w` is ASCII)."""


def html(markdown: str) -> str:
    return MarkdownIt("commonmark").render(markdown)


def text_of(markdown: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html(markdown)))


def autolinked(markdown: str) -> bool:
    shown = text_of(markdown)
    return bool(GFM_URL.search(shown) or GFM_EMAIL.search(shown))


@pytest.mark.parametrize("name", list(HOSTILE))
def test_no_link_or_image_survives(name) -> None:
    rendered = html(reply_markdown(HOSTILE[name]))
    assert "<a " not in rendered and "<img" not in rendered, rendered
    assert not autolinked(reply_markdown(HOSTILE[name])), rendered
    assert "evil" in rendered or "urgent" in rendered  # the words are kept, as text
    if name not in NO_LINK_IN_COMMONMARK:  # the case is real: unescaped, it is a link
        assert "<a " in html(HOSTILE[name]) or "<img" in html(HOSTILE[name])


@pytest.mark.parametrize("url", BARE)
def test_bare_urls_are_not_autolinked_and_read_the_same(url) -> None:
    assert autolinked(f"See {url} please") or url.startswith("javascript")  # the case is real
    shown = reply_markdown(f"See {url} please")
    assert not autolinked(shown) and "<a " not in html(shown)
    assert text_of(shown).replace("\u2060", "").strip() == f"See {url} please"


def test_formatting_and_citations_still_render() -> None:
    rendered = html(reply_markdown("**Freeze** the card in the app [1].\n\n- then order a new one\n"
                                   "\nSources: [1] Lost or stolen cards"))
    assert "<strong>Freeze</strong>" in rendered and "<li>then order a new one</li>" in rendered
    assert "[1]." in rendered and "Sources: [1] Lost or stolen cards" in rendered
