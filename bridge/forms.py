from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from bridge import scopes
from bridge.links import CHALLENGE_RE
from bridge.scopes import Catalogue

_challenge_validator = RegexValidator(CHALLENGE_RE, _("This link is not valid."))


class ChallengeField(forms.CharField):
    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=6000, validators=[_challenge_validator], **kwargs)


class ScopeCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes that carry each scope's readable text; required scopes are shown ticked and locked."""

    entries: Catalogue | None = None  # the client's tenant's catalogue (ConsentForm sets it)

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        text = scopes.describe(str(option["value"]), self.entries)
        option["text"] = text
        option["attrs"]["aria-describedby"] = f"{option['attrs']['id']}_desc"
        if text.required:
            option["attrs"].update(disabled=True, checked=True)
        return option


class DecisionForm(forms.Form):
    """Two equal submit buttons ``name="action"``: only ``accept`` accepts, anything else is a refusal."""

    challenge = ChallengeField()
    action = forms.CharField(required=False, max_length=20)

    @property
    def accepted(self) -> bool:
        return self.cleaned_data.get("action") == "accept"


class ConsentForm(DecisionForm):
    scopes = forms.MultipleChoiceField(required=False, widget=ScopeCheckboxes, label=_("Allow access to"))
    remember = forms.BooleanField(required=False, label=_("Remember this decision"))

    def __init__(
        self,
        *args: Any,
        requested_scopes: list[str],
        entries: Catalogue | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.MultipleChoiceField, self.fields["scopes"])
        field.choices = [(s, s) for s in requested_scopes]
        cast(ScopeCheckboxes, field.widget).entries = entries
        # Everything requested starts ticked (only a user's untick takes it away).
        self.initial.setdefault("scopes", list(requested_scopes))


class LogoutForm(DecisionForm):
    pass
