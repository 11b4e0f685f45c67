"""SMS segment counting against the GSM 03.38 table and carriers' part sizes."""

from __future__ import annotations

import pytest
from babel.numbers import format_currency, format_decimal, format_percent

from core.segments import GSM_BASIC, GSM_EXTENSION, segments, strip_invisibles

ARABIC_RECEIPT = "تم استلام طلبك. رقم المرجع ١٢٣٤٥٦. للاستفسار اتصل بالرقم ١٧٦٦."
FRENCH_RECEIPT = "Votre demande a bien été enregistrée. Référence 123456. Appelez le 1766."


def test_the_tables_have_the_sizes_of_the_standard() -> None:
    # 128 positions minus the escape; ten characters in the extension table.
    assert len(GSM_BASIC) == 127
    assert len(GSM_EXTENSION) == 10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("GSM-7", 1)),
        ("a" * 160, ("GSM-7", 1)),
        ("a" * 161, ("GSM-7", 2)),
        ("a" * 306, ("GSM-7", 2)),
        ("a" * 307, ("GSM-7", 3)),
        ("ب" * 70, ("UCS-2", 1)),
        ("ب" * 71, ("UCS-2", 2)),
        ("ب" * 134, ("UCS-2", 2)),
        ("ب" * 135, ("UCS-2", 3)),
    ],
    ids=["empty", "160", "161", "306", "307", "70ar", "71ar", "134ar", "135ar"],
)
def test_single_and_concatenated_limits(text: str, expected: tuple[str, int]) -> None:
    assert segments(text) == expected


def test_an_extension_character_costs_two_septets() -> None:
    assert segments("€" * 80) == ("GSM-7", 1)
    assert segments("a" * 159 + "€") == ("GSM-7", 2)
    assert segments("a" * 158 + "{}") == ("GSM-7", 2)
    assert segments("a" * 158 + "[") == ("GSM-7", 1)


def test_an_escape_sequence_is_never_split_between_parts() -> None:
    # 152 + 2 + 152 = 306 septets would fit two parts, but "{" cannot straddle them.
    assert segments("a" * 152 + "{" + "a" * 152) == ("GSM-7", 3)


def test_an_emoji_is_two_utf16_code_units() -> None:
    assert segments("😀") == ("UCS-2", 1)
    assert segments("😀" * 35) == ("UCS-2", 1)
    assert segments("a" * 69 + "😀") == ("UCS-2", 2)
    # 66 + 2 would straddle the first 67-unit part: the pair moves to the second.
    assert segments("a" * 66 + "😀" + "a" * 66) == ("UCS-2", 3)


def test_a_real_arabic_receipt_is_ucs2() -> None:
    assert len(ARABIC_RECEIPT) <= 70
    assert segments(ARABIC_RECEIPT) == ("UCS-2", 1)
    assert segments(ARABIC_RECEIPT + " " + ARABIC_RECEIPT) == ("UCS-2", 2)


def test_french_with_the_accents_of_the_gsm_table_stays_gsm7() -> None:
    assert segments(FRENCH_RECEIPT) == ("GSM-7", 1)
    assert segments("à é è ù ì ò É Ç Ü ü Ö ö Ä ä Ñ ñ ß") == ("GSM-7", 1)


@pytest.mark.parametrize("letter", ["ç", "â", "ê", "î", "ô", "û", "ë", "ï", "È", "À", "œ"])
def test_french_letters_outside_the_table_make_it_ucs2(letter: str) -> None:
    assert segments(f"Nous avons bien re{letter}u votre demande") == ("UCS-2", 1)


def test_strip_invisibles_keeps_a_babel_formatted_french_message_gsm7() -> None:
    amount = format_currency(1_500_000, "LBP", locale="fr")
    total = format_decimal(1234567, locale="fr")
    share = format_percent(0.25, locale="fr")
    text = f"Montant : {amount}, soit {total} au total ({share})."
    assert segments(text)[0] == "UCS-2"  # narrow no-break spaces are not in the GSM table
    cleaned = strip_invisibles(text)
    assert "\u202f" not in cleaned and "\xa0" not in cleaned
    assert segments(cleaned)[0] == "GSM-7"  # £ is in the table
    assert "1 234 567" in cleaned


def test_strip_invisibles_drops_bidi_marks_and_keeps_the_arabic() -> None:
    amount = format_currency(1_500_000, "LBP", locale="ar")
    assert "\u200f" in amount
    cleaned = strip_invisibles(f"المبلغ {amount}")
    assert cleaned == "المبلغ 1,500,000 ل.ل."
    marks = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    assert strip_invisibles(f"a{marks}b") == "ab"
    assert strip_invisibles("no change: ABC 123 ñ") == "no change: ABC 123 ñ"
