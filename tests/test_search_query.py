"""The search query language: words, phrases, exclusions and filters, parsed without a database."""

from __future__ import annotations

from datetime import date

from intercom_mirror.search.query import MAX_TERMS, Term, parse
from intercom_mirror.search.text import html_text, index_text, plain_text, shown, words


def test_it_reads_words_as_prefixes():
    query = parse("refund Card")
    assert query.terms == [Term(("refund",), True), Term(("Card",), True)]
    assert not query.errors


def test_it_reads_a_quoted_phrase_as_exact_words_in_a_row():
    query = parse('"credit card" please')
    assert query.terms == [Term(("credit", "card"), False), Term(("please",), True)]


def test_it_reads_an_unterminated_quote_to_the_end():
    assert parse('"credit card').terms == [Term(("credit", "card"), False)]


def test_it_reads_exclusions():
    query = parse('refund -chargeback -"bank transfer"')
    assert query.terms == [Term(("refund",), True)]
    assert query.excluded == [Term(("chargeback",), True), Term(("bank", "transfer"), False)]


def test_it_reads_every_filter():
    query = parse(
        'from:Zoe@Example.com tag:vip tag:"Needs follow-up" -tag:spam assignee:me assignee:"Ann Lee" '
        "state:open state:Snoozed before:2024-05-01 after:2024-01-31"
    )
    assert query.senders == ["zoe@example.com"]
    assert query.tags == ["vip", "Needs follow-up"]
    assert query.excluded_tags == ["spam"]
    assert query.assignees == ["me", "Ann Lee"]
    assert query.states == ["open", "snoozed"]
    assert query.before == date(2024, 5, 1)
    assert query.after == date(2024, 1, 31)
    assert query.terms == [] and not query.errors
    assert query.conversation_filters


def test_it_keeps_only_tags_as_filters_shared_with_contacts():
    assert not parse("tag:vip refund").conversation_filters
    assert parse("state:closed").conversation_filters


def test_it_reports_bad_filter_values_without_raising():
    query = parse("state:pending before:yesterday after: -from:x@y.z refund")
    assert query.states == [] and query.before is None and query.senders == []
    assert len(query.errors) == 4
    assert "open, snoozed or closed" in query.errors[0]
    assert "YYYY-MM-DD" in query.errors[1]
    assert query.terms == [Term(("refund",), True)]


def test_it_searches_an_unknown_key_as_words():
    assert parse("order:1234").terms == [Term(("order", "1234"), True)]


def test_it_cuts_an_email_or_a_number_into_words_in_a_row():
    assert parse("zoe@example.com").terms == [Term(("zoe", "example", "com"), True)]
    assert parse("v3.14").terms == [Term(("v3", "14"), True)]


def test_it_cuts_cjk_into_characters_and_keeps_arabic_and_accents_whole():
    assert parse("太郎").terms == [Term(("太", "郎"), True)]
    assert parse("مَرحبا Zoë").terms == [Term(("مرحبا",), True), Term(("Zoë",), True)]


def test_it_ignores_punctuation_alone_and_caps_the_number_of_terms():
    assert parse('- "" @@ ...').is_empty
    query = parse(" ".join(f"w{i}" for i in range(MAX_TERMS + 5)))
    assert len(query.terms) == MAX_TERMS and query.errors


def test_it_caps_the_length():
    query = parse("a" * 600)
    assert len(query.terms[0].words[0]) == 500 and query.errors


# --- the indexed text ---------------------------------------------------------------------------


def test_it_indexes_the_text_of_html_only():
    text = plain_text(
        '<p class="secret-class">Hello <a href="https://evil.example/path" title="tooltip">there</a></p>'
        "<script>stealCookies()</script><style>p { color: red }</style><p>&lt;b&gt;not bold&lt;/b&gt; &amp; more</p>"
    )
    assert text == "Hello there <b>not bold</b> & more"


def test_it_marks_word_boundaries_both_databases_agree_on():
    assert index_text("zoe@example.com 3.14 山田太郎") == (
        "zoe\u200b@\u200bexample\u200b.\u200bcom 3\u200b.\u200b14 山\u200b田\u200b太\u200b郎"
    )
    assert words(index_text("zoe@example.com 山田")) == ["zoe", "example", "com", "山", "田"]
    assert index_text("+33 6, -5 /usr/bin") == "+\u200b33 6, -\u200b5 /\u200busr\u200b/\u200bbin"


def test_it_joins_fields_and_drops_the_highlight_marks_from_text():
    assert html_text("Subject", "<p>Body \ue000x\ue001</p>") == "Subject | Body x"


def test_it_shows_snippets_escaped_with_only_its_own_marks():
    snippet = '<img src=x onerror="alert(1)"> \ue000Zo\u200bë\ue001 &amp;'
    assert shown(snippet) == '&lt;img src=x onerror="alert(1)"&gt; <mark>Zoë</mark> &amp;amp;'


def test_bare_markup_is_cut_as_the_parser_would_cut_it():
    import html

    import nh3

    from intercom_mirror.search.text import BLOCK_END, NOT_BARE

    bodies = [
        "<p>a<b>b</b>c</p><p>next</p>", "a<br>b<br/>c", "<p>a &amp; b &lt;c&gt; &nbsp;d&#39;e</p>",
        "<ul><li>one</li><li>two</li></ul>", "<P>Up</P><h2>Title</h2>text", "<p>Merci, c'est corrigé ✅</p>",
        '<p class="x">attr</p>', "<p>1 < 2 & 3</p>", "<p>x</p><script>y()</script>",
    ]  # fmt: skip
    for body in bodies:
        parsed = " ".join(html.unescape(nh3.clean(BLOCK_END.sub(" ", body), tags=set())).split())
        assert plain_text(body) == parsed, body
    assert [NOT_BARE.search(BLOCK_END.sub(" ", b)) is None for b in bodies[-3:]] == [False, False, False]
