"""Verification: whether the answer to one question answers another that reads alike.

Similarity finds candidates; it cannot tell "Paris to London" from "London to Paris".
So a candidate is a hit only when every check below finds the same thing in both texts;
the first check that differs is the reason it is refused (counted per reason). The last
check refuses any other content word that is not in both texts (after synonyms and light
stemming): a paraphrase may change how a question is framed, not what it is about.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from gateway.cache.semantic.lexicon import (
    DATE_WORDS,
    FORMATS,
    FREE_WORDS,
    LANGUAGES,
    NEGATIONS,
    NUMBER_WORDS,
    ORDER_MARKERS,
    POLAR,
    ROMAN_NUMERALS,
    SYNONYMS,
    UNITS,
)

Reason = Literal[
    "literal",
    "number",
    "unit",
    "date",
    "negation",
    "polar",
    "language",
    "format",
    "entity",
    "order",
    "wording",
]

_TOKEN = re.compile(
    r"[A-Za-z][A-Za-z0-9]*(?:\+\+|#)?(?:'[A-Za-z]+)?|\d+(?:[.,]\d+)*(?:st|nd|rd|th)?|[$€£¥%]"
)
_QUOTED = re.compile(
    '"([^"]+)"|\u201c([^\u201d]+)\u201d|`([^`]+)`|\u2018([^\u2019]+)\u2019'
    r"|(?<![A-Za-z])'([^']+)'(?![A-Za-z])"
)
_SYMBOLS = re.compile(r"[=+*/<>(){}\[\]|&^~@\\]")
_SENTENCE_END = re.compile(r"[.!?:;]\s*$")
_AMBIGUOUS_LANGUAGES = frozenset({"go", "r", "c", "swift", "rust", "spring", "node", "react"})
_ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th)$")


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    """As written (case kept)."""
    lower: str
    sentence_start: bool


class Text:
    """One question, read once: what every check compares."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.words = _words(text)
        self.lower = [word.lower for word in self.words]

    @cached_property
    def canonical(self) -> list[str]:
        return [_canonical(word) for word in self.lower]

    @cached_property
    def content(self) -> list[str]:
        """The canonical words that carry meaning, in order."""
        return [
            canonical
            for word, canonical in zip(self.lower, self.canonical, strict=True)
            if word not in FREE_WORDS
        ]


def verify(stored: Text, asked: Text) -> Reason | None:
    """None when `asked` may be answered with `stored`'s answer, else why not."""
    for reason, extract in _CHECKS:
        if extract(stored) != extract(asked):
            return reason
    if _entities(stored) - set(asked.canonical) or _entities(asked) - set(stored.canonical):
        return "entity"
    if _argument_order(stored, asked) != _argument_order(asked, stored):
        return "order"
    if set(stored.content) != set(asked.content):
        return "wording"
    return None


def _words(text: str) -> list[_Word]:
    words: list[_Word] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        start = _SENTENCE_END.search(text, 0, match.start()) is not None or not words
        base, _, suffix = token.partition("'")
        if suffix.lower() == "t" and base.lower().endswith("n"):  # don't, can't, won't
            base = {"ca": "can", "wo": "will", "sha": "shall"}.get(base[:-1].lower(), base[:-1])
            words.append(_Word(base, base.lower(), start))
            words.append(_Word("not", "not", False))
            continue
        words.append(_Word(base, base.lower(), start))
    return words


def _stem(word: str) -> str:
    """Plurals, -ing, -ed, -ly and a final e: enough to equate "closures" and "closure",
    "exercising" and "exercise"; not a linguist's stemmer."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("ly", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: len(word) - len(suffix)] + keep
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ches") or word.endswith("shes") or word.endswith("xes"):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 2:
        return word[:-1]
    return word


def _number(word: str) -> float | None:
    ordinal = _ORDINAL.match(word)
    digits = ordinal.group(1) if ordinal else word
    if digits[:1].isdigit():
        try:
            return float(digits.replace(",", ""))
        except ValueError:
            return None
    named = NUMBER_WORDS.get(word)
    return None if named is None else float(named)


def _canonical(word: str) -> str:
    number = _number(word)
    if number is not None:
        return f"#{number:g}"
    singular = _singular(word)
    for table in (UNITS, POLAR, SYNONYMS):
        for form in (word, singular):
            if form in table:
                return str(table[form])
    return _stem(word)


def _literals(text: Text) -> object:
    quoted = sorted(next(g for g in m.groups() if g) for m in _QUOTED.finditer(text.text))
    _, colon, payload = text.text.partition(": ")
    return (
        tuple(quoted),
        " ".join(payload.split()).rstrip(".?!").casefold() if colon else None,
        Counter(_SYMBOLS.findall(text.text)),
    )


def _numbers(text: Text) -> object:
    values = Counter(n for word in text.lower if (n := _number(word)) is not None)
    values.update(
        ROMAN_NUMERALS[word.lower]
        for word in text.words
        if word.text.isupper() and word.lower in ROMAN_NUMERALS
    )
    return values


def _units(text: Text) -> object:
    return {UNITS[s] for word in text.lower if (s := _singular(word)) in UNITS or word in UNITS}


def _dates(text: Text) -> object:
    return {word for word in text.lower if word in DATE_WORDS}


def _negations(text: Text) -> object:
    return sum(word in NEGATIONS for word in text.lower)


def _poles(text: Text) -> object:
    return {
        POLAR[s]
        for word in text.lower
        if (s := word if word in POLAR else _singular(word)) in POLAR
    }


def _languages(text: Text) -> object:
    return {
        word.lower
        for word in text.words
        if word.lower in LANGUAGES
        and (word.lower not in _AMBIGUOUS_LANGUAGES or word.text[:1].isupper())
    }


def _formats(text: Text) -> object:
    return {s for word in text.lower if (s := _singular(word)) in FORMATS}


def _entities(text: Text) -> set[str]:
    """Names: capitalised words inside a sentence, and acronyms anywhere."""
    return {
        _canonical(word.lower)
        for word in text.words
        if word.text[:1].isupper()
        and word.text != "I"
        and (not word.sentence_start or (len(word.text) > 1 and word.text.isupper()))
        and _number(word.lower) is None
    }


def _argument_order(text: Text, other: Text) -> object:
    """For each order marker both texts use, the content words on either side of it."""
    shared = set(other.lower) & ORDER_MARKERS
    pairs: set[tuple[str, str | None, str | None]] = set()
    salient = [
        (i, canonical)
        for i, (word, canonical) in enumerate(zip(text.lower, text.canonical, strict=True))
        if word not in FREE_WORDS and word not in ORDER_MARKERS
    ]
    for i, word in enumerate(text.lower):
        if word in shared:
            before = next((c for j, c in reversed(salient) if j < i), None)
            after = next((c for j, c in salient if j > i), None)
            pairs.add((word, before, after))
    return pairs


_CHECKS: tuple[tuple[Reason, Callable[[Text], object]], ...] = (
    ("literal", _literals),
    ("number", _numbers),
    ("unit", _units),
    ("date", _dates),
    ("negation", _negations),
    ("polar", _poles),
    ("language", _languages),
    ("format", _formats),
)
