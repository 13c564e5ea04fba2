from __future__ import annotations

from typing import Any

from django import forms

from oauth2_admin.keys import service as keys

_ALGORITHMS = [(a, a) for a in keys.ALGORITHMS]


class CreateKeyForm(forms.Form):
    set_id = forms.CharField(
        max_length=100,
        initial=keys.ID_TOKEN_SET,
        label="Key set",
        help_text="A set Hydra signs with, or a set of your own.",
    )
    algorithm = forms.ChoiceField(choices=_ALGORITHMS, initial="RS256")
    use = forms.ChoiceField(choices=[("sig", "sig (signature)"), ("enc", "enc (encryption)")], initial="sig")

    def payload(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in ("set_id", "algorithm", "use")}


class RotationForm(forms.Form):
    set_id = forms.ChoiceField(choices=[(s, s) for s in keys.SIGNING_SETS], label="Key set")
    algorithm = forms.ChoiceField(choices=_ALGORITHMS, initial="RS256", label="Next key's algorithm")
    cache_window_seconds = forms.IntegerField(
        min_value=0,
        max_value=keys.MAX_CACHE_WINDOW,
        initial=keys.DEFAULT_CACHE_WINDOW,
        label="Cache window (s)",
        help_text="How long relying parties may cache the JWKS: the new key signs only after this.",
    )

    def payload(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in ("set_id", "algorithm", "cache_window_seconds")}


class RotationStepForm(forms.Form):
    action = forms.ChoiceField(choices=[("promote", "promote"), ("retire", "retire"), ("cancel", "cancel")])
    force = forms.BooleanField(required=False, label="Do it before the waiting time is over")
