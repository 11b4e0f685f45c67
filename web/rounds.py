"""The round a console page counts: `?round=CODE`, else the default round (core/rounds.py).

Pages that count or list a round's records (dashboard, lists, inspection) share this and the
small picker of `_round_picker.html`: a GET form with one <select>, no JavaScript.
"""

from __future__ import annotations

from flask import abort, make_response, render_template, request
from flask_babel import gettext as _

from core.programme import Programme
from core.rounds import UnknownRound, all_rounds, chosen_round
from web import store

MAX_CODE = 40  # a round's code is at most 40 characters (core/programme.py)


def picked_round() -> Programme | None:
    """The round asked for in the address, or the default one; an unknown code is a 404 page
    that says so in the reader's language."""
    code = request.args.get("round", "")[: MAX_CODE + 1].strip()
    try:
        return chosen_round(store.db(), code or None)
    except UnknownRound:
        page = render_template(
            "error.html",
            title=_("No such round"),
            message=_(
                "No round has the code %(code)s. Choose a round from the list on the page.",
                code=code[:MAX_CODE],
            ),
        )
        abort(make_response(page, 404))


def round_codes() -> list[str]:
    """Every round's code, the latest opened first: what the picker offers."""
    return [programme.code for programme in all_rounds(store.db())]
