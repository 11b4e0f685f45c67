"""The words of the citizen's correction page: its refusals and its hints.

The form's own refusals (`core.fields.ErrorCode`) keep the household form's sentences
(`texts.forms`); these add the correction's own (`core.correction_changes.CorrectionError`) and
the page's.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from core.correction_changes import CorrectionError
from core.fields import FieldError
from texts import forms as form_text

DUPLICATE_FIELD = "duplicate_field"  # two rows name the same field (checked by this page)

ERRORS: dict[str, LazyString] = {
    CorrectionError.UNKNOWN_FIELD: _l("Choose the information to correct from the list."),
    CorrectionError.REASON_REQUIRED: _l("Say why this information is wrong."),
    CorrectionError.TOO_MANY_CHANGES: _l("Send at most %(max)s corrections at a time."),
    DUPLICATE_FIELD: _l("This information is already chosen in another row: keep one row for it."),
}

NOTHING_TO_CORRECT = _l(
    "Nothing to correct: choose the information that is wrong and type its correct value. "
    "A value equal to the one we have changes nothing."
)
CHOOSE_ONE_OF = _l("Type one of: %(options)s.")
ALSO_CORRECT = _l("To make this change, also correct “%(field)s”: %(message)s")
TOWNS_MATCH = _l("Several towns have this name: %(names)s. Type the full name of yours.")
NO_TOWN = _l("No town has this name: check how it is written.")


def error_text(error: FieldError) -> str:
    """The error's sentence in the page's language, the correction's own codes included."""
    if error.code in ERRORS:
        return str(ERRORS[error.code]) % dict(error.params)
    return form_text.error_text(error)
