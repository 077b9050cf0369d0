"""Spelling: customers' typos mended before the intent agent and the retriever read them.

Customers type fast: "my carsd hasnt arived", "tansfer pending". A word the model never saw
is a word it cannot use, and char n-grams and the encoder's word pieces recover only part
of it (BANKING77 test with one typo in each message, `concierge eval intents --typos`:
94.2% -> 88.9% right answers read as sent, 93.8% mended).

`Speller` keeps every word its pack uses and every English word (symspellpy's 82,765-word
frequency dictionary, shipped inside its wheel), and any other word of `MIN_LENGTH` letters
or more becomes the nearest one `MAX_EDITS` edit away (Damerau-Levenshtein: two letters
swapped are one edit), the pack's own words first, then the commonest English one, unless
the word is two commoner words run together ("topup" -> "top up", not "popup"). A
pack whose words are mostly not English (a French help centre) is mended with its own
words only, and English never touches a word with letters outside ASCII ("crème").
Apostrophe-less contractions are written out ("didnt" -> "did not"), and a message most of
whose words are unknown is left as it is: that is another language, not typos.

The English dictionary is loaded once per process (about 0.7 s and 70 MB) and never
pickled: a cached model holds only its pack's word counts.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections import Counter
from collections.abc import Iterable

from symspellpy import SymSpell, Verbosity

MIN_LENGTH = 4
"""Shorter words are left alone: one edit away from too many others."""
MAX_EDITS = 1
"""On BANKING77 test with one typo in each message (an earlier draw of them), one edit
mended nearly as much as two (93.6% vs 93.8% right answers, from 88.3% read as sent) at a
quarter of the dictionary's load time (0.7 s vs 2.6 s)."""
ENGLISH_SHARE = 0.5
"""Share of a pack's word uses that must be English words for English to mend its messages."""
COMMON = 1_000_000
"""An English word this frequent (in the dictionary's counts: "pal" 10M, "debit" 4.6M)
counts as a word two run-together ones may be split into."""
PACK_COUNT = 10**12
"""What a pack's own word counts for when splitting: above any English word."""
FOREIGN_SHARE = 0.6
FOREIGN_WORDS = 4
"""A message with at least this many unknown words, over this share of its long words, is
left alone: not typos, but another language."""
_WORD = re.compile(r"(?<![\w'’])[^\W\d_]+(?![\w'’])")
_PACK_WORD = re.compile(r"[^\W\d_]+")
CONTRACTIONS = {
    "dont": "do not", "didnt": "did not", "doesnt": "does not", "cant": "can not",
    "wont": "will not", "isnt": "is not", "arent": "are not", "wasnt": "was not",
    "werent": "were not", "havent": "have not", "hasnt": "has not", "hadnt": "had not",
    "couldnt": "could not", "wouldnt": "would not", "shouldnt": "should not",
}


@functools.cache
def english() -> SymSpell:
    """The English dictionary, loaded once per process."""
    speller = SymSpell(max_dictionary_edit_distance=MAX_EDITS)
    source = importlib.resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt"
    with importlib.resources.as_file(source) as path:
        if not speller.load_dictionary(str(path), term_index=0, count_index=1, encoding="utf-8"):
            raise RuntimeError(f"cannot read symspellpy's English dictionary at {path}")
    return speller


def pack_words(texts: Iterable[str]) -> Counter[str]:
    """How often the pack's texts use each (lower-cased) word."""
    return Counter(w for text in texts for w in _PACK_WORD.findall(text.lower()))


class Speller:
    """Mends the misspelt words of a message with its pack's words and English ones."""

    def __init__(self, vocabulary: Counter[str]):
        self.vocabulary = dict(vocabulary)
        """The pack's words and how often it uses them."""
        known = english().words
        total = sum(self.vocabulary.values())
        self.uses_english = bool(total) and sum(
            n for w, n in self.vocabulary.items() if w in known) >= ENGLISH_SHARE * total
        """Whether English words mend this pack's messages (its words are mostly English)."""

    @classmethod
    def of(cls, texts: Iterable[str]) -> Speller:
        return cls(pack_words(texts))

    @functools.cached_property
    def _own(self) -> SymSpell:
        own = SymSpell(max_dictionary_edit_distance=MAX_EDITS)
        for word, count in self.vocabulary.items():
            own.create_dictionary_entry(word, count)
        return own

    def ready(self) -> Speller:
        """Load the dictionaries now (at start-up), not at the first customer's typo."""
        if self.uses_english:
            english()
        _ = self._own
        return self

    def __getstate__(self) -> dict:  # the dictionaries are rebuilt, never pickled
        return {k: v for k, v in self.__dict__.items() if k != "_own"}

    def correct(self, text: str) -> str:
        """`text` with each misspelt word replaced (words it knows are kept as written)."""
        long_words = [w.lower() for w in _WORD.findall(text) if len(w) >= MIN_LENGTH]
        unknown = sum(not self.known(w) for w in long_words)
        if unknown >= FOREIGN_WORDS and unknown > FOREIGN_SHARE * len(long_words):
            return text
        return _WORD.sub(lambda match: self.word(match.group(0)), text)

    def known(self, lower: str) -> bool:
        return lower in CONTRACTIONS or lower in self.vocabulary or (
            self.uses_english and lower in english().words)

    def word(self, word: str) -> str:
        """The word mended: itself when known, short or with no word one edit away."""
        lower = word.lower()
        if lower in CONTRACTIONS:
            return CONTRACTIONS[lower]
        if len(lower) < MIN_LENGTH or self.known(lower):
            return word
        if found := self._own.lookup(lower, Verbosity.TOP, max_edit_distance=MAX_EDITS):
            return found[0].term
        count, split = self._split(lower)
        if self.uses_english and lower.isascii() and (found := english().lookup(
                lower, Verbosity.TOP, max_edit_distance=MAX_EDITS)) and found[0].count > count:
            return found[0].term
        return split or word

    def _split(self, lower: str) -> tuple[int, str | None]:
        """Two common words run together ("topup"), apart, with the rarer half's count: the
        split whose rarer half is commonest ("top up", not "to pup"); (0, None) if none is."""
        cuts = [(min(self._count(lower[:cut]), self._count(lower[cut:])), cut)
                for cut in range(2, len(lower) - 1)]
        count, cut = max(cuts, default=(0, 0))
        return (count, f"{lower[:cut]} {lower[cut:]}") if count >= COMMON else (0, None)

    def _count(self, lower: str) -> int:
        """How common a word is: the pack's own words above any English one."""
        if lower in self.vocabulary:
            return PACK_COUNT
        return english().words.get(lower, 0) if self.uses_english else 0
