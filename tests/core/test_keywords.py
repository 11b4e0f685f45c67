"""SMS keywords as citizens type them: three languages, any case, Arabic spellings, digits."""

from __future__ import annotations

import pytest

from core.keywords import Command, Keyword, language_of, normalise, parse, reference_text
from core.references import check_digit, parse_reference


def valid_reference() -> str:
    return "123456789" + check_digit("123456789")


KEYWORDS = [
    # (typed, keyword, language)
    ("رابط", Keyword.LINK, "ar"),
    ("LINK", Keyword.LINK, "en"),
    ("LIEN", Keyword.LINK, "fr"),
    ("حالة", Keyword.STATUS, "ar"),
    ("STATUS", Keyword.STATUS, "en"),
    ("STATUT", Keyword.STATUS, "fr"),
    ("شكوى", Keyword.COMPLAINT, "ar"),
    ("COMPLAINT", Keyword.COMPLAINT, "en"),
    ("PLAINTE", Keyword.COMPLAINT, "fr"),
    ("مساعدة", Keyword.HELP, "ar"),
    ("HELP", Keyword.HELP, "en"),
    ("AIDE", Keyword.HELP, "fr"),
    ("توقف", Keyword.STOP, "ar"),
    ("ايقاف", Keyword.STOP, "ar"),
    ("إيقاف", Keyword.STOP, "ar"),
    ("STOP", Keyword.STOP, "en"),
    ("ARRÊT", Keyword.STOP, "fr"),
    ("ابدأ", Keyword.START, "ar"),
    ("بدء", Keyword.START, "ar"),
    ("START", Keyword.START, "en"),
]


@pytest.mark.parametrize(("typed", "keyword", "language"), KEYWORDS)
def test_each_keyword_in_each_language(typed: str, keyword: Keyword, language: str) -> None:
    assert parse(typed) == Command(keyword, "", language)


@pytest.mark.parametrize(
    ("typed", "keyword"),
    [
        ("link", Keyword.LINK),
        ("Link", Keyword.LINK),
        ("lIeN", Keyword.LINK),
        ("sTaTuT", Keyword.STATUS),
        ("Complaint", Keyword.COMPLAINT),
        ("help", Keyword.HELP),
        ("Stop", Keyword.STOP),
        ("start", Keyword.START),
        ("  HELP  ", Keyword.HELP),
        ("\u200fHELP\u200f", Keyword.HELP),  # a copied text with direction marks
        ("LINK.", Keyword.LINK),
        ("STOP!", Keyword.STOP),
        ("STOP 🙏", Keyword.STOP),
    ],
)
def test_any_case_and_punctuation_around_the_word(typed: str, keyword: Keyword) -> None:
    assert parse(typed).keyword is keyword


@pytest.mark.parametrize(
    ("typed", "keyword"),
    [
        ("حاله", Keyword.STATUS),  # ta marbuta typed as ha
        ("حَالَة", Keyword.STATUS),  # fatha
        ("حـــالـــة", Keyword.STATUS),  # tatweel
        ("الحالة", Keyword.STATUS),  # with the article
        ("شكوي", Keyword.COMPLAINT),  # alef maqsura typed as ya
        ("شَكْوَى", Keyword.COMPLAINT),  # sukun and fatha
        ("الشكوى", Keyword.COMPLAINT),
        ("مساعده", Keyword.HELP),
        ("مُسَاعَدَة", Keyword.HELP),  # damma, fatha
        ("الرابط", Keyword.LINK),
        ("رابِط", Keyword.LINK),  # kasra
        ("ﺭﺍﺑﻂ", Keyword.LINK),  # presentation forms (old keyboards)
        ("أيقاف", Keyword.STOP),  # hamza on the wrong alef
        ("آيقاف", Keyword.STOP),  # madda
        ("ابدا", Keyword.START),  # no hamza
        ("إبدأ", Keyword.START),
        ("بدأ", Keyword.START),
        ("أوقف", Keyword.STOP),
    ],
)
def test_arabic_spellings_and_diacritics(typed: str, keyword: Keyword) -> None:
    command = parse(typed)

    assert (command.keyword, command.language) == (keyword, "ar")


@pytest.mark.parametrize(
    ("typed", "language"),
    [
        ("حالة {ar}", "ar"),
        ("حالة {persian}", "ar"),
        ("STATUS {ascii}", "en"),
        ("status: {ar}", "en"),
        ("STATUT n° {spaced}", "fr"),
        ("Status #{hyphenated}", "en"),
        ("حالة طلبي رقم {ar} شكرا", "ar"),
        ("STATUS{ascii}", "en"),  # no space between the word and the number
        ("حالة{persian}", "ar"),
    ],
)
def test_references_in_any_digits_reach_the_reference_parser(typed: str, language: str) -> None:
    reference = valid_reference()
    digits = {
        "ascii": reference,
        "ar": reference.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        "persian": reference.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")),
        "spaced": f"{reference[:3]} {reference[3:6]} {reference[6:]}",
        "hyphenated": f"{reference[:3]}-{reference[3:6]}-{reference[6:]}",
    }
    command = parse(typed.format(**digits))

    assert (command.keyword, command.language) == (Keyword.STATUS, language)
    assert parse_reference(reference_text(command.argument)) == reference


def test_a_reference_with_a_wrong_check_digit_is_not_taken() -> None:
    reference = valid_reference()
    wrong = reference[:-1] + str((int(reference[-1]) + 1) % 10)

    assert parse_reference(reference_text(parse(f"STATUS {wrong}").argument)) is None
    assert reference_text(parse("STATUS").argument) == ""


def test_a_complaint_keeps_the_citizens_own_words() -> None:
    typed = "شكوى: لَم يصلني أي رد منذ ٣ أسابيع"

    command = parse(typed)

    assert command == Command(Keyword.COMPLAINT, "لَم يصلني أي رد منذ ٣ أسابيع", "ar")


@pytest.mark.parametrize(
    ("typed", "language"),
    [
        ("COMPLAINT nobody called me back", "en"),
        ("PLAINTE personne ne m'a rappelé", "fr"),
        ("Complaint ما حدا اتصل فيي", "ar"),  # a Latin keyword, an Arabic reader
        ("complaint on a reçu rien", "fr"),  # an English keyword, French words
    ],
)
def test_a_complaint_is_answered_in_the_language_it_is_written_in(
    typed: str, language: str
) -> None:
    command = parse(typed)

    assert (command.keyword, command.language) == (Keyword.COMPLAINT, language)
    assert command.argument


@pytest.mark.parametrize(
    ("typed", "language"),
    [
        ("", "ar"),  # nothing to go by: the programme's first language
        ("   ", "ar"),
        ("😀🙏", "ar"),  # emoji only show no language either
        ("1234", "ar"),
        ("مرحبا", "ar"),
        ("hello", "en"),
        ("bonjour, ça va ?", "fr"),
        ("stop sending me this", "en"),  # a sentence that starts with STOP is not an opt-out
        ("توقف عن الإرسال", "ar"),
        ("START please", "en"),
        ("x" * 1600, "en"),
        ("ب" * 1600, "ar"),
    ],
)
def test_anything_else_is_unknown_in_the_language_it_was_written_in(
    typed: str, language: str
) -> None:
    command = parse(typed)

    assert (command.keyword, command.language) == (Keyword.UNKNOWN, language)


def test_a_very_long_sms_is_read_up_to_twilios_limit() -> None:
    command = parse("COMPLAINT " + "a" * 5000)

    assert command.keyword is Keyword.COMPLAINT
    assert len(command.argument) == 1600 - len("COMPLAINT ")
    assert len(normalise("x" * 5000)) == 1600


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("HeLLo", "hello"),
        ("أإآٱا", "ااااا"),  # every alef
        ("ة ه", "ه ه"),
        ("ى ي ی", "ي ي ي"),
        ("مُسَاعَدَة", "مساعده"),
        ("حـــالـــة", "حاله"),
        ("٠١٢٣٤٥٦٧٨٩ ۰۱۲۳۴۵۶۷۸۹", "0123456789 0123456789"),
        ("  a \u00a0 b\n\tc  ", "a b c"),
        ("\u200fحالة\u200e", "حاله"),
        ("Référence", "reference"),
        ("ﻻ", "لا"),  # the lam-alef ligature
    ],
)
def test_normalise_folds_every_way_of_typing_a_word(typed: str, folded: str) -> None:
    assert normalise(typed) == folded


def test_language_of_prefers_arabic_then_french_then_english() -> None:
    assert language_of("STATUS ١٢٣") == "en"  # Arabic-Indic digits are not Arabic words
    assert language_of("LINK رابط") == "ar"
    assert language_of("LIEN", "fr") == "fr"
    assert language_of("STOP") == "en"
    assert language_of("") == "ar"
