"""Console pages for Hydra's signing keys: every operator sees the sets (public halves, the signer, thumbprints);
platform admins also create, delete and rotate. Private key material never reaches these pages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from oauth2_admin.keys import service as keys
from oauth2_admin.keys.forms import CreateKeyForm, RotationForm, RotationStepForm
from truss import audit, tenancy
from truss.audit import Action
from truss.forms import refused
from truss.http import TenantRequest
from truss.models import AuditEvent
from truss.ory import hydra

# The rotation steps the console posts, each to its action; any other step is refused under ROTATION_UNKNOWN.
ROTATION_STEPS = {
    "promote": Action.KEY_ROTATION_PROMOTE,
    "retire": Action.KEY_ROTATION_RETIRE,
    "cancel": Action.KEY_ROTATION_CANCEL,
}
ROTATION_UNKNOWN = Action.KEY_ROTATION_STEP


def _last_signer(view: keys.KeySetView, key: keys.KeyView) -> bool:
    """The only key that can sign in a signing set: Truss refuses to delete it, so the page does not offer it."""
    return view.set_id in keys.SIGNING_SETS and key.has_private and sum(k.has_private for k in view.keys) == 1


def _page(request: TenantRequest, status: int = 200, **extra: Any) -> HttpResponse:
    published = keys.published_kids()
    sets = keys.key_sets()
    last_signers = {f"{s.set_id}/{k.kid}" for s in sets for k in s.keys if _last_signer(s, k)}
    rotations = keys.rotations(10)
    context = {
        "sets": sets,
        "published": published,
        "rotations": [(r, keys.next_step(r), keys.promote_after(r)) for r in rotations],
        "can_manage": keys.is_platform_admin(request),
        "create_form": extra.pop("create_form", None) or CreateKeyForm(auto_id="key_%s"),
        "rotation_form": extra.pop("rotation_form", None) or RotationForm(auto_id="rotation_%s"),
        "open_sets": {r.set_id for r in rotations if r.open},
        "last_signers": last_signers,
        **extra,
    }
    return TemplateResponse(request, "console/keys/jwks.html", context, status=status)


@require_safe
@tenancy.tenant_view()
def jwks(request: TenantRequest) -> HttpResponse:
    """Hydra's key sets, grouped, with the key each set signs with now, and the rotation panel."""
    return _page(request)


def _deny_unless_admin(request: TenantRequest, action: str, target: str = "") -> None:
    if not keys.is_platform_admin(request):
        audit.record(
            request,
            action,
            tenant=request.tenant,
            target=target,
            outcome=AuditEvent.Outcome.DENIED,
            detail="keys are global in Hydra: platform admins only",
        )
        raise PermissionDenied("Signing keys are global in Hydra: only platform admins may change them.")


@require_POST
@tenancy.tenant_view()
def create(request: TenantRequest) -> HttpResponse:
    _deny_unless_admin(request, Action.KEY_CREATE, request.POST.get("set_id", "")[:200])
    form = CreateKeyForm(request.POST, auto_id="key_%s")
    if not form.is_valid():
        refused(request, Action.KEY_CREATE, form)
        return _page(request, 400, create_form=form)
    try:
        view, warnings = keys.create_key(request, form.payload())
    except keys.KeyInputError as exc:
        for name, errors in exc.fields.items():
            form.add_error(name if name in form.fields else None, errors)
        return _page(request, 400, create_form=form)
    messages.success(request, f"Created {view.alg} key {view.kid} in {view.set_id}.")
    for warning in warnings:
        messages.warning(request, warning)
    return redirect("console:keys:jwks")


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view()
def delete(request: TenantRequest, set_id: str, kid: str) -> HttpResponse:
    """A confirmation page that says what deleting does (last signer refused, live tokens warned about)."""
    _deny_unless_admin(request, Action.KEY_DELETE, f"{set_id}/{kid}")
    view = keys.key_set(set_id)
    key = next((k for k in view.keys if k.kid == kid), None)
    if key is None:
        raise Http404("No such key.")
    if request.method == "POST":
        try:
            warnings = keys.delete_key(request, set_id, kid)
        except keys.KeyConflict as exc:
            messages.error(request, str(exc))
            return redirect("console:keys:jwks")
        messages.success(request, f"Deleted key {kid} from {set_id}.")
        for warning in warnings:
            messages.warning(request, warning)
        return redirect("console:keys:jwks")
    last = _last_signer(view, key)
    consequence = " ".join(
        [
            "The key leaves Hydra and the published JWKS; tokens it signed no longer verify once relying parties "
            "refetch the JWKS.",
            *keys.delete_warnings(set_id, kid),
        ]
    )
    if last:
        consequence = (
            f"{kid} is the last signing key of {set_id}: Truss refuses to delete it (Hydra would generate "
            "an RS256 key no verifier has seen). Use a staged rotation."
        )
    context = {
        "title": f"Delete key {kid}?",
        "consequence": consequence,
        "button": "Delete key",
        "cancel_url": reverse("console:keys:jwks"),
        "refused": last,
        "key": key,
    }
    return TemplateResponse(request, "console/keys/delete.html", context)


@require_POST
@tenancy.tenant_view()
def rotate(request: TenantRequest) -> HttpResponse:
    _deny_unless_admin(request, Action.KEY_ROTATION_START, request.POST.get("set_id", "")[:200])
    form = RotationForm(request.POST, auto_id="rotation_%s")
    if not form.is_valid():
        refused(request, Action.KEY_ROTATION_START, form)
        return _page(request, 400, rotation_form=form)
    try:
        rotation = keys.start_rotation(request, form.payload())
    except keys.KeyConflict as exc:
        messages.error(request, str(exc))
        return redirect("console:keys:jwks")
    messages.success(
        request, f"Published the next key {rotation.next_kid} of {rotation.set_id}; it does not sign yet."
    )
    return redirect("console:keys:jwks")


@require_POST
@tenancy.tenant_view()
def rotation_step(request: TenantRequest, rotation_id: int) -> HttpResponse:
    form = RotationStepForm(request.POST)
    action = ROTATION_STEPS.get(request.POST.get("action", ""), ROTATION_UNKNOWN)
    _deny_unless_admin(request, action, f"rotation:{rotation_id}")
    if not form.is_valid():
        refused(request, action, form)
        messages.error(request, "Unknown rotation step.")
        return redirect("console:keys:jwks")
    step, force = form.cleaned_data["action"], form.cleaned_data["force"]
    try:
        if step == "promote":
            rotation = keys.promote(request, rotation_id, force=force)
            messages.success(request, f"{rotation.next_kid} now signs {rotation.set_id}.")
        elif step == "retire":
            rotation = keys.retire(request, rotation_id, force=force)
            messages.success(
                request, f"Retired {', '.join(rotation.old_kids) or 'nothing'} from {rotation.set_id}."
            )
        else:
            rotation = keys.cancel(request, rotation_id)
            messages.success(request, f"Withdrew {rotation.next_kid}.")
    except keys.KeyConflict as exc:
        messages.error(request, str(exc))
    except hydra.HydraNotFound as exc:
        raise Http404("No such rotation.") from exc
    return redirect("console:keys:jwks")
