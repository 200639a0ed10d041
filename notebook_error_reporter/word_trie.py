"""One regular expression that finds any of a set of words, shaped as a trie (pure, no I/O).

``a(?:c[0-9a-f]|uth)|pass|...`` rather than ``ac0|ac1|...|auth|pass``: at each position the engine
tests the few words that share the character at hand instead of every word, and at the top every
branch starts with a literal, so that it skips ahead to the characters that can start a word.
``privacy.py`` uses it to tell at once whether a text holds any rule's hint.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable


def any_of(words: Iterable[str]) -> str:
    """A pattern that finds any of ``words``. A word that another one starts with stands for both
    (finding "pass" is enough: "passwd" holds it)."""
    trie: Dict[str, Any] = {}
    for word in sorted(words, key=len):
        node = trie
        for char in word:
            if "" in node:  # a shorter word ends here already
                break
            node = node.setdefault(char, {})
        else:
            node.clear()
            node[""] = {}
    return _trie_pattern(trie, top=True)


def _trie_pattern(node: Dict[str, Any], top: bool = False) -> str:
    # Below the top, words that end after one more character share a class ("c[0-9a-f]"). At the top
    # every branch starts with a literal, so that the engine skips ahead to the characters that can start one.
    last = sorted(char for char, child in node.items() if char and "" in child)
    branches = [
        re.escape(char) + _trie_pattern(child)
        for char, child in sorted(node.items())
        if char and "" not in child
    ]
    if len(last) > 1 and not top:
        branches.append("[" + "".join(re.escape(char) for char in last) + "]")
    else:
        branches.extend(re.escape(char) for char in last)
    if len(branches) <= 1:
        return "".join(branches)
    return "(?:" + "|".join(branches) + ")"
