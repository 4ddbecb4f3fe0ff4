"""Name normalisation for search: one key matches kanji, kana of any kind and width, and romaji of any case."""

from __future__ import annotations

import unicodedata

import jaconv


def normalise(text: str) -> str:
    """Fold width (NFKC), katakana to hiragana, case, and runs of spaces, so that ﾀｶﾊｼ, タカハシ and
    たかはし compare equal, as do ＴＡＫＡＨＡＳＨＩ and takahashi."""
    folded = jaconv.kata2hira(unicodedata.normalize("NFKC", text)).casefold()
    return " ".join(folded.split())


def search_key(*names: str | None) -> str:
    """Every name of a member, normalised and joined, for a substring search over one indexed column."""
    return " | ".join(normalise(name) for name in names if name)
