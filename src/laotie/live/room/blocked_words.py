"""Blocked words matched through the usual disguises: width, case, look-alikes and spacing.

A line and every blocked word are brought to one skeleton before matching:
1. NFKC, so that full-width `ｗｅｃｈａｔ` and other compatibility forms become `wechat`;
2. case folding;
3. the Unicode confusables (UTS #39) as the `confusable-homoglyphs` package ships them:
   a non-ASCII character that looks like an ASCII letter or digit becomes that character,
   so Cyrillic `wесhat` reads `wechat` (ASCII itself is left alone, so `l` and `1` stay
   apart);
4. separators dropped between single letters, so `w e c h a t`, `w.e.c.h.a.t` and
   `加 微` close up, while ordinary words keep the space between them (`we chat` is two
   words, not the blocked one).
The blocked list is normalised once per list (`blocked_skeletons`); a line costs one pass
of each step, which keeps chat, the hottest write path, cheap.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise

from confusable_homoglyphs.confusables import confusables_data

_TOKEN = re.compile(r"[^\W_]+")


def _ascii_look_alikes() -> dict[int, str]:
    """Map each non-ASCII character that looks like an ASCII letter or digit to it."""
    table: dict[int, str] = {}
    for character, homoglyphs in confusables_data.items():
        if len(character) != 1 or character.isascii():
            continue
        for homoglyph in homoglyphs:
            twin = homoglyph["c"]
            if len(twin) == 1 and twin.isascii() and twin.isalnum():
                table[ord(character)] = twin.casefold()
                break
    return table


_LOOK_ALIKES = _ascii_look_alikes()


def skeleton(text: str) -> str:
    """Return the form of a text that blocked words are matched in."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_LOOK_ALIKES)
    tokens = _TOKEN.findall(folded)
    if not tokens:
        return ""
    parts = [tokens[0]]
    for before, token in pairwise(tokens):
        # Spaced-out letters close up; a space between two real words stays.
        parts.append(token if len(before) == 1 or len(token) == 1 else " " + token)
    return "".join(parts)


@lru_cache(maxsize=8)
def blocked_skeletons(words: tuple[str, ...]) -> tuple[str, ...]:
    """Return the blocked words as skeletons, once per list; a word's own spaces go."""
    return tuple(dict.fromkeys(s for s in (skeleton(w).replace(" ", "") for w in words) if s))


def has_blocked_word(text: str, words: Sequence[str]) -> bool:
    """Tell whether the text holds a blocked word, however disguised."""
    line = skeleton(text)
    return any(word in line for word in blocked_skeletons(tuple(words)))
