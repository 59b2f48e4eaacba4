"""The text the search index holds, and how words are cut out of it.

Both databases tokenise for themselves (PostgreSQL's parser under the
`im_search` configuration, SQLite's FTS5 `unicode61`), and they disagree where
text is not plain words: PostgreSQL keeps `zoe@example.com`, `3.14` or
`foo-bar` as single tokens and reads `山田太郎` as one word, FTS5 splits the
first three and also keeps the last whole. So the text is prepared here, once,
for both: a zero-width space (U+200B, a separator to both tokenisers and
invisible on screen) goes

- around the punctuation PostgreSQL keeps inside tokens (`zoe@example.com`
  becomes the words zoe, example, com on both; so do `+33`, `3.14`, `/usr/bin`), and
- between CJK characters, which are written without spaces: each one becomes a
  word, and a query for `太郎` is the phrase 太 + 郎, so it finds 山田太郎.

Query words are cut with the same rules (`words()`), so a query and the text it
should find agree on every word boundary. Snippets strip the zero-width spaces
again before they are shown.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import nh3

# Marks around highlighted words in snippets: private-use characters, removed from
# indexed text, so they can only come from the database's highlighter.
MARK_START, MARK_END = "\ue000", "\ue001"
ZWSP = "\u200b"
# A conversation part can be a whole pasted log; PostgreSQL refuses a tsvector over 1 MB.
MAX_CHARS = 100_000

# Where a block ends, plain text needs a space: "<p>Hi</p><p>there</p>" reads "Hi there".
BLOCK_END = re.compile(r"<(?:br|/p|/div|/li|/h\d|/blockquote|/pre|/tr|/td|/th)\b[^>]*>", re.IGNORECASE)
# A tag without attributes, of the kinds Intercom's composer writes; NOT_BARE finds any other
# markup: a tag with attributes or of another kind, a lone "<", an "&" that starts no entity.
BARE = r"</?(?:p|br|b|i|em|strong|u|s|ul|ol|li|code|pre|blockquote|div|span|h[1-6])\s*/?>"
BARE_TAG = re.compile(BARE, re.IGNORECASE)
NOT_BARE = re.compile(rf"<(?!{BARE[1:]})|&(?![a-zA-Z]+;|#[0-9]+;)", re.IGNORECASE)
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\uff66-\uff9f\U00020000-\U0002ffff"
CJK_CHAR = re.compile(f"[{CJK}]")
# Where a CJK character meets another visible character: a word boundary goes there.
CJK_GAP = re.compile(f"(?<=[{CJK}])(?=[^\\s{ZWSP}])|(?<=[^\\s{ZWSP}])(?=[{CJK}])")
# ASCII punctuation that PostgreSQL's parser keeps inside a token: zoe@example.com (email),
# example.com (host), 3.14 and -5 (numbers), foo-bar, /usr/bin (path), https: (URL); and < >,
# because text that reads like a tag (an escaped "<b>" in a message) is a tag token it drops.
JOINERS = ".@-+/:<>"
# A word: a run of letters and digits, or one CJK character.
WORD = re.compile(f"[{CJK}]|[^\\W_{CJK}]+")
# Arabic vowel marks are optional in writing: dropped, so مَرحبا and مرحبا are one word.
HARAKAT = re.compile("[\u064b-\u065f\u0670]")
UNWANTED = re.compile(f"[\x00{MARK_START}{MARK_END}{ZWSP}\u200c\u200d\ufeff]")


def plain_text(body: str | None) -> str:
    """Return the visible text of Intercom HTML: tags, attributes and script contents gone.

    Most bodies are a few bare tags (`<p>Thanks!</p>`): those have their tags cut
    out directly, four times faster than parsing. Anything else (an attribute, a
    script, a stray `<` or `&`) goes through nh3's parser.
    """
    if not body:
        return ""
    if "<" in body or "&" in body:
        body = BLOCK_END.sub(" ", body)
        if NOT_BARE.search(body) is None:
            body = html.unescape(BARE_TAG.sub("", body))
        else:
            body = html.unescape(nh3.clean(body, tags=set()))
    return " ".join(body.split())


def normalise(text: str) -> str:
    """Return text in the one form both the index and queries use (NFKC, no Arabic vowel marks)."""
    if text.isascii():
        return text.replace("\x00", "")
    return HARAKAT.sub("", unicodedata.normalize("NFKC", UNWANTED.sub("", text)))


def index_text(*pieces: str | None) -> str:
    """Return the pieces joined as indexable text: normalised, with word boundaries made explicit."""
    text = normalise(" | ".join(" ".join(p.split()) for p in pieces if p and not p.isspace())[:MAX_CHARS])
    # str.replace runs in C: a regex with lookarounds cost more than the rest of the listener.
    for char in JOINERS:
        if char in text:
            text = text.replace(char, f"{ZWSP}{char}{ZWSP}")
    if not text.isascii() and CJK_CHAR.search(text):
        text = CJK_GAP.sub(ZWSP, text)
    if ZWSP not in text:
        return text
    while ZWSP * 2 in text:
        text = text.replace(ZWSP * 2, ZWSP)
    return text.replace(f" {ZWSP}", " ").replace(f"{ZWSP} ", " ").strip(ZWSP)


def html_text(*bodies: str | None) -> str:
    """Return indexable text for HTML bodies."""
    return index_text(*(plain_text(b) for b in bodies))


def words(text: str) -> list[str]:
    """Return the words of a query fragment, cut as the index cuts its text."""
    return WORD.findall(normalise(text))


def fold(word: str) -> str:
    """Return a word without case or accents, for matching in Python (tag names)."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def attribute_values(value: Any) -> Iterable[str]:
    """Yield the text and numbers inside custom attributes (values only, not their names)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from attribute_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from attribute_values(item)
    elif isinstance(value, str) and value.strip():
        yield value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)


def shown(snippet: str | None) -> str:
    """Return a snippet from the database as HTML: text escaped, only our own <mark> tags kept."""
    escaped = html.escape((snippet or "").replace(ZWSP, ""), quote=False)
    return escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")
