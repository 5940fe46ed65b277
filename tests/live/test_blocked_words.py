"""Blocked chat words are found through width, case, look-alike letters and spacing."""

from __future__ import annotations

import pytest

from laotie.core.errors import AppError
from laotie.live.room.blocked_words import blocked_skeletons, has_blocked_word
from laotie.live.room.chat import check_text
from laotie.settings import Settings

SETTINGS = Settings(database_url="sqlite+aiosqlite://")


@pytest.mark.parametrize(
    "line",
    [
        "add me on ｗｅｃｈａｔ",  # full-width letters
        "my w e c h a t is li88",  # spaced letters
        "w.e-c_h a.t please",  # punctuation between letters
        "find me on wесhat",  # Cyrillic е and с
        "ＷeСhAT",  # full-width, Cyrillic and mixed case at once
        "加 微 li88",  # spaced Chinese
        "ask for my Ｖ Ｘ",
    ],
)
def test_disguised_blocked_words_are_refused(line: str) -> None:
    with pytest.raises(AppError) as refused:
        check_text(SETTINGS, line)
    assert refused.value.code == "chat_blocked_word"


@pytest.mark.parametrize(
    "line",
    [
        "这件翡翠手镯的水头很好，我很喜欢！",
        "we chat about the jade after the show",
        "the weather is nice; every size fits",
        "Такая красивая вещь",  # Cyrillic words that spell no blocked word
    ],
)
def test_ordinary_lines_pass(line: str) -> None:
    assert check_text(SETTINGS, line) == line


def test_the_blocked_list_is_normalised_once() -> None:
    words = ("ＷeChat", "加 微")
    assert blocked_skeletons(words) == ("wechat", "加微")
    blocked_skeletons.cache_clear()
    has_blocked_word("hello", words)
    has_blocked_word("wechat", words)
    assert blocked_skeletons.cache_info().misses == 1
