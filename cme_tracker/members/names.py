"""How members' names are written and searched.

Display: a name as printed in Japan or in Latin order, and its romaji form. Search: names normalised so that
one key matches kanji, kana of any kind and width, and romaji in any case. Plain functions over plain values,
so that code reading name columns as rows (the check-in) shows them as the member model does.
"""

from __future__ import annotations

import unicodedata

import jaconv

SEPARATOR = " | "


def has_japanese_name(family_name: str, family_name_kana: str | None) -> bool:
    """Whether the name is written in kanji or kana; otherwise it exists only in Latin letters."""
    return bool(family_name_kana) or any(ord(char) > 0x2E80 for char in family_name)


def display_name(family_name: str, given_name: str, family_name_kana: str | None) -> str:
    """The name as printed in Japan (family name first) when it is Japanese, else given name first."""
    if has_japanese_name(family_name, family_name_kana):
        return f"{family_name} {given_name}"
    return f"{given_name} {family_name}"


def romaji_name(family_name_romaji: str, given_name_romaji: str) -> str:
    """The romaji name as the society writes it: family name in capitals, then the given name."""
    return f"{family_name_romaji.upper()} {given_name_romaji}"


def normalise(text: str) -> str:
    """Fold width (NFKC), katakana to hiragana, case, accents of Latin letters and runs of spaces, so that
    ﾀｶﾊｼ, タカハシ and たかはし compare equal, as do ＴＡＫＡＨＡＳＨＩ and takahashi, and Ōno and ono.

    Kanji are kept as they are: 髙 is not 高, and 𠮷 is not 吉.
    """
    folded = _strip_latin_accents(jaconv.kata2hira(unicodedata.normalize("NFKC", text))).casefold()
    return " ".join(folded.replace(SEPARATOR.strip(), " ").split())


def _strip_latin_accents(text: str) -> str:
    """Drop the accents of Latin letters only: the voicing marks of kana (が = か + ゙) must stay."""
    kept: list[str] = []
    base_is_latin = False
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.combining(char):
            if not base_is_latin:
                kept.append(char)
            continue
        base_is_latin = unicodedata.name(char, "").startswith("LATIN")
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def search_key(*names: str | None) -> str:
    """Every name of a member, normalised and joined, for a substring search over one indexed column."""
    return SEPARATOR.join(key for key in (normalise(name) for name in names if name) if key)


def search_terms(query: str) -> list[str]:
    """The words of a search query, normalised like the names they are looked for in."""
    return normalise(query).split()
