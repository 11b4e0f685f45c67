"""A simple multidimensional poverty index: which of five deprivations a household has.

It sits beside the PMT score and does not replace it: the score ranks households by predicted
consumption, the index says in which ways a household is deprived (what a committee or a
municipality can read at a glance). Each dimension is one rule on the raw variables:

- income: income per capita below INCOME_LINE_LBP a month. ILLUSTRATIVE: the upper poverty
  line of the 2011-12 household budget survey (Central Administration of Statistics and the
  World Bank), LBP 4,729,000 per person a year, divided by 12 and not updated for the 2019-20
  inflation; the programme must set its own line. A missing income counts as none.
- housing: more than 3 persons per room, or a tent, a single room or an unfinished building,
  or informal tenure.
- health: someone in the household has a disability or a chronic illness, and the household
  has no one in work or lost income since the general mobilisation (a care need without the
  means to meet it).
- education: a child of compulsory school age (6-14) is not in school.
- assets: the household has neither a fridge nor a washing machine (the most widely held
  durables, whose absence marks deprivation rather than a choice).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from scoring.variables import CATEGORIES, HouseholdInput, household_variables

DIMENSIONS = ("income", "housing", "health", "education", "assets")
INCOME_LINE_LBP = 4_729_000 / 12  # illustrative: see the module's docstring
MAX_PERSONS_PER_ROOM = 3.0
POOR_SHELTER = frozenset(
    float(CATEGORIES["housing_type"].index(kind)) for kind in ("single_room", "tent", "unfinished")
)
INFORMAL_TENURE = float(CATEGORIES["housing_tenure"].index("informal"))


@dataclass(frozen=True)
class PovertyIndex:
    """How many of the five DIMENSIONS a household is deprived in, and which."""

    count: int
    deprived: tuple[str, ...]


def poverty_index(household: HouseholdInput) -> PovertyIndex:
    """The household's deprivations (the rules are in this module's docstring)."""
    return poverty_from_variables(household_variables(household))


def poverty_from_variables(variables: Mapping[str, float]) -> PovertyIndex:
    """The deprivations read from raw variables (`household_variables`' names)."""
    rules = {
        "income": _income(variables),
        "housing": _housing(variables),
        "health": _health(variables),
        "education": variables["out_of_school"] > 0,
        "assets": variables["asset_fridge"] == 0 and variables["asset_washing_machine"] == 0,
    }
    deprived = tuple(name for name in DIMENSIONS if rules[name])
    return PovertyIndex(len(deprived), deprived)


def _income(variables: Mapping[str, float]) -> bool:
    return variables["income_per_capita"] < INCOME_LINE_LBP


def _housing(variables: Mapping[str, float]) -> bool:
    return (
        variables["crowding"] > MAX_PERSONS_PER_ROOM
        or variables["housing_type"] in POOR_SHELTER
        or variables["housing_tenure"] == INFORMAL_TENURE
    )


def _health(variables: Mapping[str, float]) -> bool:
    condition = variables["disabled"] + variables["chronically_ill"] > 0
    no_means = variables["members_working"] == 0 or variables["lost_income_covid"] == 1
    return condition and no_means
