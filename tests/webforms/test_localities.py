"""A town's name typed on the form is folded as the SMS keywords are: one set of rules."""

from __future__ import annotations

import pytest

from core.arabic import fold as fold_letters
from core.keywords import normalise
from webforms.localities import fold


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Bourj-Hammoud", "bourj hammoud"),
        ("  Jounieh \u00a0 ", "jounieh"),
        ("إهدن", "اهدن"),  # hamza on the alef
        ("طَرَابُلُس", "طرابلس"),  # tashkeel
        ("صيدا", "صيدا"),
        ("عـــكـــار", "عكار"),  # tatweel
        ("زحلة", "زحله"),  # ta marbuta
        ("حلبا ی", "حلبا ي"),  # the Persian ya
        ("کفرشيما", "كفرشيما"),  # the Persian kaf
        ("\u200fصور\u200e", "صور"),  # bidi marks
    ],
)
def test_a_town_name_is_folded_however_it_was_typed(typed: str, folded: str) -> None:
    assert fold(typed) == folded


@pytest.mark.parametrize("typed", ["حـــالَة", "ARRÊT", "ی ک ى ة ٱ", "ﻻ"])
def test_the_form_and_the_keywords_fold_letters_alike(typed: str) -> None:
    assert fold(typed) == normalise(typed) == fold_letters(typed).strip()
