from __future__ import annotations

import re
from typing import Any

from django import forms

from oauth2_admin.hygiene.models import Thresholds
from oauth2_admin.hygiene.service import RULES, SEVERITIES

_HOST = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
SORTS = {
    "score": "Score (worst first)",
    "-score": "Score (best first)",
    "name": "Name",
    "findings": "Most findings",
}


class ReportFilterForm(forms.Form):
    severity = forms.ChoiceField(
        required=False, choices=[("", "Any severity"), *[(s, s) for s in SEVERITIES]]
    )
    rule = forms.ChoiceField(required=False, choices=[("", "Any rule"), *[(r.id, r.title) for r in RULES]])
    sort = forms.ChoiceField(required=False, choices=list(SORTS.items()))
    page = forms.IntegerField(required=False, min_value=1, max_value=100000)


class ThresholdsForm(forms.ModelForm):  # type: ignore[type-arg]
    own_hosts_text = forms.CharField(
        label="The tenant's own hosts",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One host name per line (app.example.com). skip_consent is only fine for clients redirecting "
        "to these.",
    )

    class Meta:
        model = Thresholds
        fields = [
            "secret_max_age_days",
            "idle_days",
            "max_access_token_seconds",
            "max_jwt_access_token_seconds",
            "max_refresh_token_seconds",
        ]
        labels = {
            "secret_max_age_days": "Rotate secrets after (days)",
            "idle_days": "Flag clients without consent for (days)",
            "max_access_token_seconds": "Longest access-token lifespan (seconds)",
            "max_jwt_access_token_seconds": "Longest JWT access-token lifespan (seconds)",
            "max_refresh_token_seconds": "Longest refresh-token lifespan (seconds)",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["own_hosts_text"].initial = "\n".join(self.instance.own_hosts or [])
        limits = {
            "secret_max_age_days": (1, 3650),
            "idle_days": (1, 3650),
            "max_access_token_seconds": (60, 86400),
            "max_jwt_access_token_seconds": (60, 86400),
            "max_refresh_token_seconds": (3600, 3650 * 86400),
        }
        for name, (low, high) in limits.items():
            field = self.fields[name]
            assert isinstance(field, forms.IntegerField)
            field.widget.attrs.update({"min": low, "max": high})
            field.validators.append(_between(low, high))

    def clean_own_hosts_text(self) -> list[str]:
        hosts = [
            line.strip().lower() for line in self.cleaned_data["own_hosts_text"].splitlines() if line.strip()
        ]
        bad = [h for h in hosts if not _HOST.match(h)]
        if bad:
            raise forms.ValidationError(
                f"not a host name: {', '.join(bad[:3])} (write app.example.com, no scheme)"
            )
        if len(hosts) > 100:
            raise forms.ValidationError("at most 100 hosts")
        return list(dict.fromkeys(hosts))

    def save(self, commit: bool = True) -> Thresholds:
        self.instance.own_hosts = self.cleaned_data["own_hosts_text"]
        saved: Thresholds = super().save(commit)
        return saved


def _between(low: int, high: int) -> Any:
    def check(value: int) -> None:
        if value is not None and not low <= value <= high:
            raise forms.ValidationError(f"must be between {low} and {high}")

    return check
