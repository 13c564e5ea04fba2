from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from bridge import claims, scopes
from bridge.services import CHALLENGE_RE

_challenge_validator = RegexValidator(CHALLENGE_RE, _("This link is not valid."))


class ChallengeField(forms.CharField):
    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=6000, validators=[_challenge_validator], **kwargs)


class ScopeCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes that carry each scope's readable text; required scopes are shown ticked and locked."""

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        text = scopes.describe(str(option["value"]))
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

    def __init__(self, *args: Any, requested_scopes: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.MultipleChoiceField, self.fields["scopes"])
        field.choices = [(s, s) for s in requested_scopes]
        # Everything requested starts ticked (only a user's untick takes it away).
        self.initial.setdefault("scopes", list(requested_scopes))


class LogoutForm(DecisionForm):
    pass


class PrettyJSONField(forms.JSONField):
    """Shows stored JSON indented, so the editor is readable."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return json.dumps(value, indent=2, ensure_ascii=False)
        return super().prepare_value(value)


class ClaimsConfigForm(forms.Form):
    id_token_claims = PrettyJSONField(
        required=False,
        label=_("ID-token claims"),
        help_text=_('Claim name to template, e.g. {"email": "{{traits.email}}"}.'),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
    )
    access_token_claims = PrettyJSONField(
        required=False,
        label=_("Access-token claims"),
        help_text=_("Visible to anyone who introspects the token: no secrets here."),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
    )

    def _clean_claims(self, kind: str) -> dict[str, Any]:
        value = self.cleaned_data.get(kind)
        value = {} if value in (None, "") else value
        errors = claims.validate(kind, value)
        if errors:
            raise forms.ValidationError([f"{key}: {msg}" for key, msgs in errors.items() for msg in msgs])
        return cast(dict[str, Any], value)

    def clean_id_token_claims(self) -> dict[str, Any]:
        return self._clean_claims("id_token_claims")

    def clean_access_token_claims(self) -> dict[str, Any]:
        return self._clean_claims("access_token_claims")


class PreviewForm(forms.Form):
    identity = forms.CharField(
        max_length=320,
        label=_("Identity"),
        help_text=_("A Kratos identity id or login email."),
    )
    scopes = forms.CharField(
        required=False, max_length=500, initial="openid email profile", label=_("Scopes")
    )
