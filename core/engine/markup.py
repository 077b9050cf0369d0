"""Help-centre markup made plain: HTML pages and HTML inside Markdown become Markdown.

Exported help centres mix Markdown with HTML fragments (`<div class="note">`, `<br>`,
tables pasted from an editor). The retriever and the answers need plain Markdown text, so
`clean_markdown` converts each HTML block (a paragraph that opens with a tag, as
CommonMark defines HTML blocks) and each line with inline tags through markdownify, and
leaves fenced code, Markdown tables and horizontal rules as they are. `html_to_markdown`
converts a whole page: its `<main>` (or its one `<article>`) when it marks one, so a saved
help-centre page loses the site around the article; scripts, styles, navigation, sidebars,
forms and images are dropped.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from markdownify import markdownify

_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_FENCE = re.compile(r"^(?:```|~~~)")
_DROPPED = ("script", "style", "nav", "header", "footer", "noscript", "iframe", "svg", "form",
            "aside", "button", "dialog", "template")
_CHROME_ROLES = ("navigation", "banner", "contentinfo", "complementary", "search", "dialog")


def _convert(html: str) -> str:
    return markdownify(html, heading_style="ATX", bullets="-", escape_asterisks=False,
                       escape_underscores=False, strip=["img"]).strip()


def _convert_block(block: str) -> str:
    if block.lstrip().startswith("<") and _TAG.match(block.lstrip()):
        return _convert(block)
    lines = []
    for line in block.split("\n"):
        if _TAG.search(line):
            indent = line[: len(line) - len(line.lstrip())]
            line = indent + _convert(line)
        lines.append(line)
    return "\n".join(lines)


def clean_markdown(text: str) -> str:
    """Markdown with its HTML fragments converted to Markdown; stripped of edge blanks."""
    text = _COMMENT.sub("", text)
    if not _TAG.search(text):
        return text.strip()
    out: list[str] = []
    block: list[str] = []
    fenced = False

    def flush() -> None:
        if block:
            out.append(_convert_block("\n".join(block)))
            block.clear()

    for line in text.split("\n"):
        if _FENCE.match(line.lstrip()):
            flush()
            fenced = not fenced
            out.append(line)
        elif fenced:
            out.append(line)
        elif not line.strip():
            flush()
            out.append("")
        else:
            block.append(line)
    flush()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def html_to_markdown(html: str) -> tuple[str, str]:
    """A page's title and its Markdown. The title is the first `<h1>` (a page's `<title>`
    often carries the site's name too), else `<title>`, else the first heading; it may be
    empty."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(_DROPPED):
        tag.decompose()
    for tag in soup.find_all(attrs={"role": _CHROME_ROLES}):
        tag.decompose()
    root = _content(soup)
    candidates = [root.find("h1"), soup.find("h1"), soup.title,
                  root.find(re.compile(r"^h[2-3]$"))]
    title = next((t.get_text(" ", strip=True) for t in candidates
                  if t is not None and t.get_text(strip=True)), "")
    if soup.title:
        soup.title.decompose()
    return title, re.sub(r"\n{3,}", "\n\n", _convert(str(root)))


def _content(soup: BeautifulSoup):
    """The page's article: its `<main>` (the one `<article>` in it, if it holds one), else
    its only `<article>`, else the body. Several articles are a list page: the body."""
    main = soup.find("main") or soup.find(attrs={"role": "main"})
    scope = main or soup
    articles = scope.find_all("article")
    if len(articles) == 1 and articles[0].get_text(strip=True):
        return articles[0]
    if main is not None and main.get_text(strip=True):
        return main
    return soup.body or soup
