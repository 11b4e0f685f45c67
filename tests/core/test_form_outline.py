"""The form on paper is read off the form's definition: each field once, in order, with the
answer its cleaner takes; a field added to the dictionary appears on paper by itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core import fields, household
from core.form_outline import FieldOutline, Kind, outline
from core.household import FIELD_OPTIONS, MAX_MEMBERS, MEMBER_FIELDS, OPTIONS, PAGE_FIELDS, PAGES


@pytest.fixture(autouse=True)
def _outline_read_afresh() -> Iterator[None]:
    outline.cache_clear()
    yield
    outline.cache_clear()


def _fields() -> dict[str, FieldOutline]:
    found: dict[str, FieldOutline] = {}
    for page in outline():
        found |= {f.name: f for f in page.fields}
        found |= {f"members-{f.name}": f for f in page.members}
    return found


def test_every_page_and_field_once_in_the_dictionarys_order() -> None:
    pages = outline()
    assert [page.name for page in pages] == list(PAGES)
    for page in pages:
        expected = [name for name in PAGE_FIELDS[page.name] if name != "members"]
        assert [f.name for f in page.fields] == expected
    family = pages[PAGES.index("family")]
    assert [f.name for f in family.members] == list(MEMBER_FIELDS)
    assert family.member_rows == MAX_MEMBERS


@pytest.mark.parametrize(
    ("name", "kind", "required", "size"),
    [
        ("head_first_name", Kind.TEXT, True, 60),
        ("address", Kind.TEXT, True, 200),
        ("head_birth_date", Kind.DATE, True, 0),
        ("head_id_number", Kind.DIGITS, True, 12),
        ("registry_number", Kind.DIGITS, True, 6),
        ("registry_place", Kind.LOCALITY, True, 0),
        ("phone", Kind.PHONE, True, 0),
        ("head_sex", Kind.CHOICE, True, 0),
        ("assets", Kind.CHOICES, False, 0),
        ("income_sources", Kind.CHOICES, True, 0),
        ("other_aid", Kind.CHOICES, True, 0),  # "none" stands alone, yet several may be ticked
        ("rooms", Kind.NUMBER, True, 0),
        ("monthly_rent", Kind.NUMBER, False, 0),  # required of tenants only
        ("lost_income_covid", Kind.TICK, False, 0),
        ("declaration", Kind.DECLARATION, True, 0),
        ("members-first_name", Kind.TEXT, True, 60),
        ("members-relation", Kind.CHOICE, True, 0),
        ("members-id_number", Kind.DIGITS, False, 12),  # required from 18 only
        ("members-work", Kind.CHOICE, False, 0),
        ("members-in_school", Kind.TICK, False, 0),
    ],
)
def test_each_field_asks_for_what_its_cleaner_takes(
    name: str, kind: Kind, required: bool, size: int
) -> None:
    field = _fields()[name]
    assert (field.kind, field.required, field.size) == (kind, required, size)


def test_every_choice_lists_all_its_options() -> None:
    for name, field in _fields().items():
        bare = name.removeprefix("members-")
        if bare in FIELD_OPTIONS:
            assert field.options == OPTIONS[FIELD_OPTIONS[bare]], name
        else:
            assert field.kind not in (Kind.CHOICE, Kind.CHOICES), name


def test_a_field_added_to_the_dictionary_appears_by_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(household._PERSONAL, "landline", fields.optional(fields.digits(7, 8)))
    monkeypatch.setitem(PAGE_FIELDS, "personal", (*PAGE_FIELDS["personal"], "landline"))
    added = _fields()["landline"]
    assert (added.kind, added.required, added.size) == (Kind.DIGITS, False, 8)
