"""One spelling for the letters people type interchangeably, Arabic above all.

Phones write the same word many ways: any case, hamza on the alef or not, ة or ه, ى or ي,
with or without tashkeel and tatweel, Persian ya and kaf from Persian keyboards, presentation
forms from old keyboards. The SMS keywords (`core.keywords`) and the search for a town by
name (`webforms/localities.py`) both compare what was typed after this one fold.
"""

from __future__ import annotations

import unicodedata

_LETTER_FOLDS = str.maketrans(
    {
        "ٱ": "ا",  # alef wasla (alef with hamza or madda lose their mark in `fold`)
        "ة": "ه",  # ta marbuta, often typed as ha
        "ى": "ي",  # alef maqsura, often typed as ya (and the reverse)
        "ی": "ي",  # the Persian ya of Persian keyboards
        "ک": "ك",  # the Persian kaf
        "ـ": None,  # tatweel, the stretching stroke
    }
)
# Combining and enclosing marks (tashkeel, the hamza and madda on an alef, Latin accents) and
# invisible format characters (bidi marks).
_DROPPED = ("Mn", "Me", "Cf")


def fold(text: str) -> str:
    """`text` in one spelling: what every way of typing the same letters has in common.

    Compatibility forms are decomposed (Arabic presentation forms, ligatures, full-width
    letters) and every mark and format character is dropped; then case and the Arabic letters
    typed interchangeably are made uniform. Digits and spaces are left as they are.
    """
    decomposed = unicodedata.normalize("NFKD", text).casefold()
    kept = "".join(char for char in decomposed if unicodedata.category(char) not in _DROPPED)
    return kept.translate(_LETTER_FOLDS)
