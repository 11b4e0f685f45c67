"""Audited reads that a page of the service asks for, never a link on another site.

A recording played is an event on the record, and it must be a GET (an `<audio>` source). The
session cookie is SameSite=Lax, which a top-level navigation from another site still carries,
so such a view also refuses what the browser marks as coming from another site
(`Sec-Fetch-Site: cross-site`). A request without the header (an old browser, a typed address)
is let through: it was not sent by another site's page in a browser that says so.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

F = TypeVar("F", bound=Callable[..., ResponseReturnValue])


def same_site_only(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            message = _("This opens only from the service's own pages. Open it from the console.")
            return render_template("error.html", title=_("Not allowed"), message=message), 403
        return view(*args, **kwargs)

    return cast(F, wrapped)
