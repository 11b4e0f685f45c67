"""Numbers in addresses: bounded where the route parses them, so a wild one is simply not found.

Every `<int:…>` of every route is the bounded converter below (the app factory registers it in
place of Werkzeug's): an id no table can hold answers 404 instead of overflowing the store
(SQLite stops at 2**63 and PostgreSQL's INTEGER at 2**31, both with an error page).
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1  # PostgreSQL's INTEGER, the type of every id column


class BoundedInt(IntegerConverter):
    """`int` in a route: 0 to MAX_ID unless the route says otherwise, ASCII digits only."""

    regex = r"[0-9]+"  # not `\d`: Arabic-Indic digits are not a record's address

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = None,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, MAX_ID if max is None else max, signed)


def init_params(app: Flask) -> None:
    """Before any blueprint: routes bind their converters when they are registered."""
    app.url_map.converters["int"] = BoundedInt
