"""A valid household, as a citizen would post it page by page (distinct per `n`)."""

from __future__ import annotations

from typing import Any

from tests.support.factories import HOME


def pages(
    n: int = 1,
    head_work: str = "daily_worker",
    member_id: str | None = None,
    second_phone: str | None = None,
) -> dict[str, Any]:
    """Form values for the four pages; `n` makes the family's identifiers unique."""
    values = _pages(n, head_work, member_id)
    if second_phone is not None:  # the optional second mobile, only when a test gives one
        values["personal"]["second_phone"] = second_phone
    return values


def _pages(n: int, head_work: str, member_id: str | None) -> dict[str, Any]:
    return {
        "personal": {
            "head_first_name": "علي",
            "head_father_name": "حسن",
            "head_family_name": "الخوري",
            "head_mother_name": "فاطمة سعد",
            "head_sex": "male",
            "head_birth_date": "1980-03-25",
            "head_nationality": "lebanese",
            "head_id_number": f"{100000000 + n}",
            "registry_place": HOME,
            "registry_number": str(n % 999999 or 1),
            "phone": "03 123 456",
            "marital_status": "married",
            "head_education": "secondary",
            "head_work": head_work,
        },
        "family": {
            "members-0-first_name": "مريم",
            "members-0-relation": "spouse",
            "members-0-sex": "female",
            "members-0-birth_date": "1982-01-01",
            "members-0-id_number": member_id or f"{200000000 + n}",
            "members-0-work": "unemployed",
            "members-1-first_name": "كريم",
            "members-1-relation": "child",
            "members-1-sex": "male",
            "members-1-birth_date": "2014-09-01",
            "members-1-in_school": "1",
        },
        "housing": {
            "residence_locality": HOME,
            "address": "شارع المدارس، بناية حداد، الطابق الثاني",
            "housing_tenure": "rented",
            "monthly_rent": "600000",
            "housing_type": "apartment",
            "rooms": "2",
            "assets": ["fridge", "internet"],
            "cars": "0",
        },
        "finances": {
            "monthly_income": "1500000",
            "income_sources": ["daily_work"],
            "lost_income_covid": "1",
            "debts": "",
            "other_aid": ["none"],
            "declaration": "1",
        },
    }


def cleaned(n: int = 1, **kwargs: Any) -> dict[str, Any]:
    """The four pages of `pages(n)` as the form stores them (cleaned, every locality known)."""
    from core.clock import beirut_today
    from core.fields import Context
    from core.household import clean_page_in

    every_locality = Context(beirut_today(), lambda code: True)
    out: dict[str, Any] = {}
    for page, form in pages(n, **kwargs).items():
        posted = {k: v if isinstance(v, list) else [v] for k, v in form.items()}
        data, errors = clean_page_in(page, posted, every_locality)
        assert not errors, errors
        out[page] = data
    return out


def submitted(session: Any, n: int = 1, phone: str = "+9613123456", **kwargs: Any) -> Any:
    """A family's application stored through `core.submissions.submit` (a round must be open)."""
    from core.link_lifecycle import issue_link
    from core.links import Channel
    from core.submissions import submit

    data = cleaned(n, **kwargs)
    data["personal"]["phone"] = phone
    link, _token = issue_link(session, None, None, "ar", Channel.HOTLINE)
    application = submit(session, link, data, "ar")
    session.flush()
    from core.applications import Application

    return session.get(Application, application.id)


_LOCALITIES = (
    "21111",
    "21133",
    "22111",
    "10110",
    "35111",
    "34111",
)  # the sample in factories.py


def varied(n: int) -> dict[str, Any]:
    """A cleaned household that differs from its neighbours in what scoring reads.

    Deterministic in `n`: income, size, housing, assets, work and region all vary, so a list
    built from a few hundred of them has real differences to rank and no reliance on ties.
    """
    data = cleaned(n)
    personal, housing, finances = data["personal"], data["housing"], data["finances"]
    personal["head_sex"] = ("male", "female")[n % 2]
    personal["head_education"] = ("none", "primary", "intermediate", "secondary", "university")[
        n % 5
    ]
    personal["head_work"] = ("daily_worker", "unemployed", "private_employee", "self_employed")[
        n % 4
    ]
    children = [
        {
            **data["family"]["members"][1],
            "first_name": f"ولد {k}",
            "birth_date": f"20{10 + k}-02-0{1 + k % 9}",
        }
        for k in range(n % 6)
    ]
    data["family"]["members"] = data["family"]["members"][:1] + children
    housing["residence_locality"] = _LOCALITIES[n % len(_LOCALITIES)]
    housing["rooms"] = 1 + n % 4
    housing["housing_tenure"] = ("owned", "rented", "hosted_free", "informal")[n % 4]
    housing["monthly_rent"] = 400000 if housing["housing_tenure"] == "rented" else None
    housing["housing_type"] = ("apartment", "house", "single_room", "unfinished")[n % 4]
    housing["assets"] = ["fridge", "washing_machine", "car", "internet"][: n % 5]
    housing["cars"] = 1 if "car" in housing["assets"] else 0
    finances["monthly_income"] = (n * 7919) % 3_000_000
    finances["lost_income_covid"] = n % 3 == 0
    return data
