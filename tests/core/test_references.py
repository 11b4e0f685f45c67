"""The application reference: Verhoeff's guarantees, the format, typed input in any script."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import references
from core.references import check_digit, grouped, is_valid, new_reference, parse_reference

ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


@st.composite
def valid_references(draw: st.DrawFn) -> str:
    body = str(draw(st.integers(min_value=10**8, max_value=10**9 - 1)))
    return body + check_digit(body)


@pytest.mark.parametrize(
    ("digits", "expected"),
    [("236", "3"), ("12345", "1"), ("142857", "0"), ("8473643095483728456789273", "6")],
)
def test_known_verhoeff_vectors(digits: str, expected: str) -> None:
    assert check_digit(digits) == expected
    assert is_valid(digits + expected)


@given(valid_references())
def test_every_single_digit_substitution_is_rejected(reference: str) -> None:
    for position, original in enumerate(reference):
        for digit in "0123456789":
            if digit != original:
                typo = reference[:position] + digit + reference[position + 1 :]
                assert not is_valid(typo), typo
                assert parse_reference(typo) is None


@given(valid_references())
def test_every_adjacent_transposition_is_rejected(reference: str) -> None:
    for i in range(len(reference) - 1):
        a, b = reference[i], reference[i + 1]
        if a != b:
            swapped = reference[:i] + b + a + reference[i + 2 :]
            assert not is_valid(swapped), swapped
            assert parse_reference(swapped) is None


@given(valid_references())
def test_grouping_round_trips(reference: str) -> None:
    spoken = grouped(reference)
    assert [len(group) for group in spoken.split(" ")] == [3, 3, 4]
    assert parse_reference(spoken) == reference
    assert grouped(spoken) == spoken


@given(valid_references())
def test_arabic_indic_and_persian_digits_are_accepted(reference: str) -> None:
    assert parse_reference(grouped(reference).translate(ARABIC)) == reference
    assert parse_reference(reference.translate(PERSIAN)) == reference
    assert is_valid(reference.translate(ARABIC))


@pytest.mark.parametrize(
    "typed",
    [
        "123-456-7890",
        " 123 456 7890 ",
        "١٢٣ ٤٥٦ ٧٨٩٠",
        "\u200f123\u00a0456\u202f7890",
        "12-34 56-78 90",
    ],
)
def test_typed_forms_are_normalised(typed: str) -> None:
    assert check_digit("123456789") == "0"
    assert parse_reference(typed) == "1234567890"


@pytest.mark.parametrize(
    "text",
    ["", "123", "12345678901", "123456789a", "1234567890" * 1000, "٠" * 10 + "1", "+1234567890"],
)
def test_parse_refuses_what_is_not_a_reference(text: str) -> None:
    assert parse_reference(text) is None


def test_new_references_have_ten_digits_a_non_zero_start_and_a_valid_check() -> None:
    drawn = {new_reference() for _ in range(2000)}
    assert len(drawn) == 2000
    for reference in drawn:
        assert len(reference) == references.LENGTH and reference.isascii()
        assert reference[0] != "0"
        assert parse_reference(reference) == reference


def test_check_digit_and_grouping_refuse_non_digits() -> None:
    with pytest.raises(ValueError, match="digits"):
        check_digit("12a")
    with pytest.raises(ValueError, match="ten digits"):
        grouped("12345")
    assert not is_valid("") and not is_valid("7")
