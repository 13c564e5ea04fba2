"""Kratos's UI texts in the user's language, by message id (Kratos v1.3.1 only speaks English).

Ids and wording come from Kratos's ``text/`` package (message_*.go). An id not listed here falls back to
Kratos's own English text, so a newer Kratos never shows an empty label.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from truss.ory import kratos

_PLAIN: dict[int, Promise] = {
    1010001: _("Sign in"),
    1010003: _("Please confirm this action by verifying that it is you."),
    1010013: _("Continue"),
    1010022: _("Sign in with password"),
    1040001: _("Sign up"),
    1040003: _("Continue"),
    1050001: _("Your changes have been saved!"),
    1060003: _(
        "An email containing a recovery code has been sent to the email address you provided. If you have not "
        "received an email, check the spelling of the address and make sure to use the address you registered with."
    ),
    1070001: _("Password"),
    1070003: _("Save"),
    1070004: _("ID"),
    1070005: _("Submit"),
    1070006: _("Verify code"),
    1070007: _("Email"),
    1070008: _("Resend code"),
    1070009: _("Continue"),
    1070010: _("Recovery code"),
    1070011: _("Verification code"),
    1070012: _("Registration code"),
    1080002: _("You successfully verified your email address."),
    1080003: _(
        "An email containing a verification code has been sent to the email address you provided. If you have "
        "not received an email, check the spelling of the address and make sure to use the address you "
        "registered with."
    ),
    4000006: _(
        "The provided credentials are invalid, check for spelling mistakes in your password or username, email "
        "address, or phone number."
    ),
    4000007: _("An account with the same identifier (email, phone, username, ...) exists already."),
    4000010: _("Account not active yet. Did you forget to verify your email address?"),
    4000031: _("The password can not be used because it is too similar to the identifier."),
    4000034: _("The password has been found in data breaches and must no longer be used."),
    4010002: _("Could not find a strategy to log you in with. Did you fill out the form correctly?"),
    4040003: _("The registration code is invalid or has already been used. Please try again."),
    4060004: _("The recovery token is invalid or has already been used. Please retry the flow."),
    4060006: _("The recovery code is invalid or has already been used. Please try again."),
    4070001: _("The verification token is invalid or has already been used. Please retry the flow."),
    4070006: _("The verification code is invalid or has already been used. Please try again."),
}

# Messages whose text carries values from ``context``.
_FORMATTED: dict[int, Promise] = {
    4000002: _("Property %(property)s is missing."),
    4000003: _("The value must be at least %(min_length)s characters long."),
    4000005: _("The password can not be used because %(reason)s."),
    4000032: _("The password must be at least %(min_length)s characters long, but got %(actual_length)s."),
    4000033: _("The password must be at most %(max_length)s characters long, but got %(actual_length)s."),
}

# Labels Kratos generates from the identity schema's titles (id 1070002, context.title). The schema says
# "E-mail", Kratos's own recovery/verification label says "Email": both read "Email" (German "E-Mail").
_TITLES: dict[str, Promise] = {
    "E-mail": _("Email"),
    "Email": _("Email"),
    "Name": _("Name"),
}
_GENERATED_LABEL = 1070002


def translate(message: kratos.UiText | None) -> str:
    if message is None:
        return ""
    context: dict[str, Any] = message.context or {}
    if message.id == _GENERATED_LABEL:
        title = context.get("title")
        found = _TITLES.get(title) if isinstance(title, str) else None
        return str(found) if found is not None else message.text
    plain = _PLAIN.get(message.id)
    if plain is not None:
        return str(plain)
    formatted = _FORMATTED.get(message.id)
    if formatted is not None:
        try:
            return str(formatted) % context
        except (KeyError, TypeError, ValueError):
            return message.text
    return message.text
