"""Readable, translated text for OAuth scopes on the consent screen: the standard scopes' built-in text, a
tenant's own scopes from its catalogue (oauth2_admin.scopes) in the user's language, anything else by name."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from oauth2_admin.scopes import catalogue

# Scopes that cannot be unticked when requested: without openid there is no sign-in at all.
REQUIRED = frozenset({"openid"})

_KNOWN: dict[str, tuple[Promise, Promise]] = {
    "openid": (_("Sign you in"), _("Confirm that it is you, using your account.")),
    "email": (_("Your email address"), _("See your email address and whether it is verified.")),
    "profile": (_("Your profile"), _("See your name.")),
    "offline_access": (
        _("Stay connected"),
        _("Keep access while you are not using the app, until you revoke it."),
    ),
    "address": (_("Your postal address"), _("See the postal address stored in your account.")),
    "phone": (_("Your phone number"), _("See your phone number and whether it is verified.")),
}
_KNOWN["offline"] = _KNOWN["offline_access"]


Catalogue = dict[str, catalogue.Entry]


@dataclass(frozen=True)
class ScopeText:
    name: str
    title: str
    description: str
    required: bool
    rememberable: bool = True


def describe(scope: str, entries: Catalogue | None = None) -> ScopeText:
    """The scope's text in the active language; ``entries``: the client's tenant's catalogue."""
    entry = (entries or {}).get(scope)
    known = _KNOWN.get(scope)
    if known is not None:
        title, description = str(known[0]), str(known[1])
    elif entry is not None and entry.scope is not None:
        title, description = catalogue.text(entry.scope, translation.get_language() or "en")
    else:
        # Unknown scopes are shown by name (escaped and length-capped by the template), never hidden.
        title = scope[:100]
        description = gettext("Access to “%(scope)s”, as defined by the application.") % {
            "scope": scope[:100]
        }
    return ScopeText(
        name=scope,
        title=title,
        description=description,
        required=scope in REQUIRED,
        rememberable=entry.rememberable if entry is not None else True,
    )


def rememberable(scopes: list[str], entries: Catalogue) -> bool:
    """Whether a consent to all of ``scopes`` may be remembered: none of them is marked "ask every time"."""
    return all(entry.rememberable for name in scopes if (entry := entries.get(name)) is not None)
