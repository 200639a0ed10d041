"""``any_of``: one trie-shaped pattern finds a text's words exactly where a substring test would."""

from __future__ import annotations

import re
from typing import List

from hypothesis import given, settings
from hypothesis import strategies as st

from notebook_error_reporter.word_trie import any_of

# A small alphabet with regex metacharacters, so that words share prefixes and need escaping.
WORDS = st.lists(st.text(alphabet="ab.[]\\-^c", min_size=1, max_size=4), min_size=1, max_size=12)
TEXTS = st.text(alphabet="ab.[]\\-^cx", max_size=30)


@settings(max_examples=500, deadline=None, database=None)
@given(words=WORDS, text=TEXTS)
def test_finds_a_word_exactly_when_the_text_holds_one(words: List[str], text: str) -> None:
    found = re.search(any_of(words), text) is not None
    assert found == any(word in text for word in words)


def test_shares_prefixes_and_classes_single_endings() -> None:
    assert any_of(["pass", "passwd", "ab", "ac0", "ac1", "x"]) == "(?:a(?:c[01]|b)|pass|x)"
    assert any_of(["-", ".", "/"]) == "(?:\\-|\\.|/)"  # at the top, literals only
