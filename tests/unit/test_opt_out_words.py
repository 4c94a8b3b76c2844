"""Opt-out words as shoppers type them: any case, spacing and punctuation; inside a sentence, a maybe."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbox.rules import OPT_OUT_PHRASES, Keyword, keyword_of

FCC_2024 = ["stop", "quit", "end", "revoke", "opt out", "cancel", "unsubscribe"]
TWILIO = ["STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL", "STOP ALL"]
CASES = [
    str.lower,
    str.upper,
    str.title,
    lambda w: "".join(c.upper() if i % 2 else c for i, c in enumerate(w)),
]
AROUND = [
    ("", ""),
    ("  ", " "),
    ("\t", "\n"),
    ("\u00a0", "\r\n"),
    ("", "."),
    ("", "!"),
    ("", "!!!"),
    ("", "?"),
    ("", "…"),
    ('"', '"'),
    ("«", "»"),
    ("*", "*"),
    ("", " 🛑"),
    ("(", ")"),
    ("-", "-"),
    ("", ".\n"),
    ("¡", "!"),
]
JOINERS = [" ", "-", "_", ".", "  ", "\t", "- ", ""]


def test_the_lists_are_the_fcc_and_twilio_words():
    compact = {"".join(w.casefold().split()) for w in FCC_2024 + TWILIO}
    assert compact == set(OPT_OUT_PHRASES)


@pytest.mark.parametrize("word", FCC_2024 + TWILIO)
def test_every_spelling_of_a_listed_word_opts_out(word):
    tried = 0
    for case, (before, after), joiner in itertools.product(CASES, AROUND, JOINERS):
        body = before + joiner.join(case(part) for part in word.split()) + after
        assert keyword_of(body) == Keyword.OPT_OUT, repr(body)
        tried += 1
    assert tried == len(CASES) * len(AROUND) * len(JOINERS)


@pytest.mark.parametrize(
    "body",
    [
        "Stop.",
        "OPT OUT",
        "Unsubscribe!",
        "opt-out",
        "Opt.Out",
        "STOP ALL",
        "stop!!",
        "ＳＴＯＰ",
        "  quit\n",
        "End.",
        "REVOKE!",
        "cancel…",
        "stop 🙏",
        "S-T-O-P",
        "stop stop",
        "STOP. STOP!",
        "Stop, unsubscribe",
        "opt out. OPT OUT",
    ],
)
def test_the_reported_messages_opt_out(body):
    assert keyword_of(body) == Keyword.OPT_OUT


@pytest.mark.parametrize(
    "body",
    [
        "please stop texting me",
        "Stop texting me!!",
        "STOP. I already bought it",
        "I want to opt out",
        "how do I unsubscribe from these?",
        "please cancel",
        "can you cancel my order",
        "quit messaging me",
        "revoke my consent",
        "the end",
        "OPT-OUT please",
        "optout now",
        "stop all texts",
        "Don't stop",
        "stop help",
        "yes stop",
    ],
)
def test_a_listed_word_inside_a_longer_message_may_be_an_opt_out(body):
    assert keyword_of(body) == Keyword.MAYBE_OPT_OUT


@pytest.mark.parametrize(
    "body",
    [
        "",
        "   ",
        "Is the sage pillow still in stock?",
        "stopping by the shop tomorrow",
        "weekend delivery?",
        "it was cancelled by the bank",
        "optional gift wrap",
        "the button is out of stock",
        "unstoppable deal",
        "endless summer",
        "quite nice",
        "🛑",
        "...",
        "opt",
        "out",
    ],
)
def test_other_messages_are_plain_replies(body):
    assert keyword_of(body) is None


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        ("START", Keyword.OPT_IN),
        (" unstop ", Keyword.OPT_IN),
        ("yes", Keyword.OPT_IN),
        ("HELP", Keyword.HELP),
        ("info", Keyword.HELP),
        ("Yes please, is it in stock?", None),
        ("help me find my size", None),
    ],
)
def test_opt_in_and_help_stay_whole_message_keywords(body, keyword):
    """Consent is never granted from a sentence; HELP answers only the bare word."""
    assert keyword_of(body) == keyword


SEPARATORS = st.text(alphabet=" \t\n.,!?;:-_*'\"()…¡¿\u00a0", max_size=4)


@given(
    st.sampled_from(sorted({w.casefold() for w in FCC_2024 + TWILIO})),
    st.lists(st.booleans(), min_size=16, max_size=16),
    SEPARATORS,
    SEPARATORS,
    SEPARATORS,
)
def test_case_whitespace_and_punctuation_never_matter(word, upper, before, between, after):
    cased = "".join(c.upper() if u else c for c, u in zip(word, upper * 2, strict=False))
    body = before + (between or " ").join(cased.split()) + after
    assert keyword_of(body) == Keyword.OPT_OUT


@given(st.text(max_size=200), SEPARATORS, SEPARATORS)
def test_wrapping_in_punctuation_never_changes_an_opt_out_reading(body, before, after):
    reading = keyword_of(body)
    if reading in (Keyword.OPT_IN, Keyword.HELP):
        return  # whole-message keywords, deliberately exact
    assert keyword_of(before + body + after) == reading
