"""The search box's query language.

    refund "credit card" -chargeback from:zoe@example.com tag:vip assignee:me state:open after:2024-01-01

- a word matches words that start with it (`ref` finds refund); every word must
  match somewhere in the record (in a conversation: its subject, any part, or a
  tag it carries);
- `"exact phrase"` matches those words in a row, each in full;
- `-word` or `-"a phrase"` excludes the records containing it anywhere (a
  conversation is excluded if any of its parts does); `-tag:name` excludes a tag;
- filters: `from:` the customer's or a part's author's email (a whole address, or
  part of one such as a domain), `tag:`, `assignee:` an admin's or a team's name,
  an admin's email, or `me`; `state:open|snoozed|closed`; `before:` and `after:`
  a date (YYYY-MM-DD) on which the conversation was created (`before` excludes
  the day, `after` includes it). A value with spaces goes in quotes:
  `assignee:"Ann Lee"`. Filters of one kind are alternatives (state:open
  state:snoozed), except tags, which must all be carried.

Words are cut as the index cuts text (`text.words`): `zoe@example.com` is the
phrase zoe example com, and CJK text a phrase of its characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from intercom_mirror.search.text import words

MAX_LENGTH = 500
MAX_TERMS = 12
STATES = ("open", "snoozed", "closed")
FILTERS = ("from", "tag", "assignee", "state", "before", "after")
# Only these filters apply to contacts and companies too; the others narrow conversations.
SHARED_FILTERS = ("tag",)

TOKEN = re.compile(r'(?P<neg>-)?(?:(?P<key>[A-Za-z]+):)?(?:"(?P<quoted>[^"]*)"?|(?P<bare>[^\s"]*))')


@dataclass(frozen=True)
class Term:
    """Words that must appear in a row; the last one may be a prefix."""

    words: tuple[str, ...]
    prefix: bool

    def __str__(self) -> str:
        text = " ".join(self.words)
        return text if self.prefix and len(self.words) == 1 else f'"{text}"'


@dataclass
class Query:
    terms: list[Term] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    excluded_tags: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    before: date | None = None
    after: date | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """Return True when nothing was asked (no words, no filters)."""
        return not (self.terms or self.excluded or self.excluded_tags or self.conversation_filters or self.tags)

    @property
    def conversation_filters(self) -> bool:
        """Return True when a filter that only conversations have is set (contacts and companies then don't match)."""
        return bool(self.senders or self.assignees or self.states or self.before or self.after)


def parse(text: str) -> Query:
    """Return the query a search box's text asks for; problems are listed in `errors`, never raised."""
    query = Query()
    if len(text) > MAX_LENGTH:
        query.errors.append(f"Only the first {MAX_LENGTH} characters were searched.")
        text = text[:MAX_LENGTH]
    for match in TOKEN.finditer(text):
        negated, key = bool(match["neg"]), (match["key"] or "").lower()
        value = match["quoted"] if match["quoted"] is not None else match["bare"]
        if key in FILTERS:
            add_filter(query, key, value.strip(), negated)
            continue
        if match["key"]:  # "foo:bar" is no filter: search it as words
            value = f"{match['key']}:{value}"
        found = words(value)
        if found:
            term = Term(tuple(found), prefix=match["quoted"] is None)
            (query.excluded if negated else query.terms).append(term)
    if len(query.terms) + len(query.excluded) > MAX_TERMS:
        query.errors.append(f"Only the first {MAX_TERMS} words or phrases were searched.")
        query.terms = query.terms[:MAX_TERMS]
        query.excluded = query.excluded[: max(0, MAX_TERMS - len(query.terms))]
    return query


def add_filter(query: Query, key: str, value: str, negated: bool) -> None:
    if not value:
        query.errors.append(f"{key}: needs a value, e.g. {EXAMPLES[key]}.")
    elif negated and key != "tag":
        query.errors.append(f"-{key}: is not supported: only words, phrases and tags can be excluded.")
    elif key == "tag":
        (query.excluded_tags if negated else query.tags).append(value)
    elif key == "from":
        query.senders.append(value.lower())
    elif key == "assignee":
        query.assignees.append(value)
    elif key == "state":
        if value.lower() in STATES:
            query.states.append(value.lower())
        else:
            query.errors.append(f"state:{value} is not a state: use open, snoozed or closed.")
    else:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            query.errors.append(f"{key}:{value} is not a date: use YYYY-MM-DD, e.g. {EXAMPLES[key]}.")
            return
        if key == "before":
            query.before = min(day, query.before or day)
        else:
            query.after = max(day, query.after or day)


EXAMPLES = {
    "from": "from:zoe@example.com",
    "tag": "tag:vip",
    "assignee": "assignee:me",
    "state": "state:open",
    "before": "before:2024-05-01",
    "after": "after:2024-05-01",
}
