"""Console forms for the scope catalogue. They only collect: oauth2_admin.scopes.service validates (one source of
truth for the console and the API) and its field errors are put back onto these forms."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from oauth2_admin.scopes import service
from truss.errors import InputError


class ScopeForm(forms.Form):
    name = forms.CharField(
        max_length=service.MAX_NAME,
        help_text="What clients request, e.g. invoices:read. Printable ASCII without spaces; it cannot change later.",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    title_en = forms.CharField(
        max_length=service.MAX_TITLE, label="Title (English)", help_text="Shown on the consent screen."
    )
    description_en = forms.CharField(
        max_length=service.MAX_DESCRIPTION,
        label="Description (English)",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One sentence: what the application may do.",
    )
    title_de = forms.CharField(
        max_length=service.MAX_TITLE,
        required=False,
        label="Title (German)",
        help_text="Optional: German-speaking people see the English text without it.",
    )
    description_de = forms.CharField(
        max_length=service.MAX_DESCRIPTION,
        required=False,
        label="Description (German)",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    claims = forms.MultipleChoiceField(
        required=False,
        label="Claims it releases",
        widget=forms.CheckboxSelectMultiple,
        help_text="The tenant's claim templates that go into the tokens only when this scope is granted.",
    )
    rememberable = forms.BooleanField(
        required=False,
        initial=True,
        label="A consent to it may be remembered",
        help_text="Off: people are asked every time a client requests this scope.",
    )

    def __init__(
        self, *args: Any, templates: list[str], current: list[str] | None = None, **kwargs: Any
    ) -> None:
        """`templates`: the tenant's claim template names; `current`: the edited scope's claims (None: a new
        scope), offered too when a template is gone, so the service can say so."""
        super().__init__(*args, **kwargs)
        claims = cast(forms.MultipleChoiceField, self.fields["claims"])
        gone = sorted(set(current or []) - set(templates))
        claims.choices = [(n, n) for n in templates] + [(n, f"{n} (no template any more)") for n in gone]
        if not templates:
            claims.help_text = "The tenant has no claim templates yet: add them on the claims page."
        if current is not None:
            self.fields["name"].disabled = True
            self.fields["name"].help_text = "A scope's name cannot change."

    def payload(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in service.FIELDS if name in self.cleaned_data}

    def add_service_errors(self, error: InputError) -> None:
        for field, messages in error.fields.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
