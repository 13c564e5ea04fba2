from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.urls import reverse

from oauth2_admin.clients import counts
from oauth2_admin.clients.service import public_view
from oauth2_admin.scopes import service as scopes
from oauth2_admin.scopes.models import Scope
from truss import apikeys, audit
from truss.audit import Action
from truss.models import ApiKey, ClaimsConfig, Tenant
from truss.ory import hydra, kratos

DEMO_USER_EMAIL = "jane@example.test"
DEMO_USER_PASSWORD = "demo-user-password"  # dev data only, printed for `make run`
DEMO_CLIENT_NAME = "Demo web app"
SEED_ACTOR = "cli"  # as manage.py create_api_key: the seed is a command-line action
# The demo tenant's own scopes and the claim templates they release (access token only: a resource server reads them).
DEMO_CLAIMS = {
    "billing_account": "{{ metadata_public.billing_account }}",
    "invoice_role": "{{ metadata_public.invoice_role }}",
}
DEMO_SCOPES: list[dict[str, Any]] = [
    {
        "name": "invoices:read",
        "title_en": "Read your invoices",
        "description_en": "See the invoices of your billing account.",
        "title_de": "Ihre Rechnungen lesen",
        "description_de": "Die Rechnungen Ihres Abrechnungskontos sehen.",
        "claims": ["billing_account"],
        "rememberable": True,
    },
    {
        "name": "invoices:write",
        "title_en": "Pay and dispute your invoices",
        "description_en": "Pay invoices and open disputes in your name. You are asked every time.",
        "title_de": "Ihre Rechnungen bezahlen und beanstanden",
        "description_de": "In Ihrem Namen Rechnungen bezahlen und Beanstandungen eröffnen. Sie werden jedes Mal gefragt.",
        "claims": ["billing_account", "invoice_role"],
        "rememberable": False,
    },
]
DEMO_CLIENT_SCOPE = "openid offline_access profile email invoices:read invoices:write"
DEMO_USER_METADATA = {"billing_account": "ACME-1001", "invoice_role": "payer"}


def demo_callback_url() -> str:
    """The demo client's redirect URI: Truss's public callback page, which shows the sign-in's outcome."""
    return str(settings.TRUSS_PUBLIC_URL).rstrip("/") + reverse("console:devtools:callback")


def ensure_demo_client(tenant: Tenant) -> hydra.OAuth2Client:
    """The demo tenant's "Demo web app" client, created once; an older one is pointed at the callback page."""
    callback = demo_callback_url()
    page = hydra.list_clients(owner=tenant.hydra_owner, client_name=DEMO_CLIENT_NAME, page_size=1)
    if not page.items:
        created = hydra.create_client(
            {
                "client_name": DEMO_CLIENT_NAME,
                "owner": tenant.hydra_owner,
                "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                "response_types": ["code"],
                "redirect_uris": [callback],
                "scope": DEMO_CLIENT_SCOPE,
                "token_endpoint_auth_method": "client_secret_basic",
            }
        )
        # What the console records for a client it creates: the client's history starts here, and its secret's
        # age is counted from here.
        audit.record(
            None,
            Action.CLIENT_CREATE,
            tenant=tenant,
            target=created.client_id,
            actor=SEED_ACTOR,
            after=public_view(created),
        )
        counts.added(tenant, created)
        return created
    client = page.items[0]
    patch = []
    if callback not in client.redirect_uris:
        # Earlier seeds used "/callback", which is no Truss route: replace it, keep any the operator added.
        uris = [callback] + [uri for uri in client.redirect_uris if not uri.endswith("/callback")]
        patch.append({"op": "replace", "path": "/redirect_uris", "value": uris})
    scopes = (client.scope or "").split()
    missing = [s for s in DEMO_CLIENT_SCOPE.split() if s not in scopes]
    if missing:  # earlier seeds had no demo scopes of the catalogue
        patch.append({"op": "replace", "path": "/scope", "value": " ".join(scopes + missing)})
    if not patch:
        return client
    patched = hydra.patch_client(client.client_id, patch)
    audit.record(
        None,
        Action.CLIENT_PATCH,
        tenant=tenant,
        target=client.client_id,
        actor=SEED_ACTOR,
        before=public_view(client),
        after=public_view(patched),
    )
    counts.changed(tenant, client, patched)
    return patched


def ensure_demo_scopes(tenant: Tenant) -> None:
    """The demo claim templates (added to the tenant's, never replacing one) and the demo scopes releasing them."""
    config, _ = ClaimsConfig.objects.get_or_create(tenant=tenant)
    missing = {name: t for name, t in DEMO_CLAIMS.items() if name not in config.access_token_claims}
    if missing:
        before = {
            "id_token_claims": config.id_token_claims,
            "access_token_claims": config.access_token_claims,
        }
        config.access_token_claims = {**config.access_token_claims, **missing}
        config.save()
        audit.record(
            None,
            Action.CLAIMS_UPDATE,
            tenant=tenant,
            target="claims-config",
            actor=SEED_ACTOR,
            before=before,
            after={
                "id_token_claims": config.id_token_claims,
                "access_token_claims": config.access_token_claims,
            },
        )
    for scope in DEMO_SCOPES:
        if not Scope.objects.filter(tenant=tenant, name=scope["name"]).exists():
            scopes.create(None, tenant, scope, actor=SEED_ACTOR)


class Command(BaseCommand):
    help = "Create the demo tenant, operator, API key, OAuth2 client and end user (idempotent), and print logins."

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("create_tenant", "demo", name="Demo Inc.", stdout=self.stdout)
        tenant = Tenant.objects.get(slug="demo")
        password = "demo-operator-pw"
        exists = get_user_model().objects.filter(username="demo").exists()
        call_command(
            "create_operator",
            "demo",
            tenant="demo",
            role="admin",
            password=password,
            superuser=True,
            stdout=self.stdout,
        )
        lines = [
            "",
            "Demo ready:",
            "  Console   http://127.0.0.1:8000/console/",
            f"  Operator  demo / {password}" + (" (existing account: password reset)" if exists else ""),
        ]
        if not ApiKey.objects.filter(tenant=tenant, name="demo").exists():
            key, raw = apikeys.generate(tenant, "service_role", name="demo")
            audit.record(
                None,
                Action.APIKEY_CREATE,
                tenant=tenant,
                target=key.prefix,
                actor=SEED_ACTOR,
                after={"prefix": key.prefix, "role": key.role, "name": key.name},
            )
            lines.append(f"  API key   {raw}   (service_role; shown once)")
        ensure_demo_scopes(tenant)
        try:
            client = ensure_demo_client(tenant)
            secret = (
                f" secret {client.client_secret}"
                if client.client_secret
                else " (secret shown at creation only)"
            )
            lines.append(f"  Client    {client.client_id}{secret}")
            lines.append(f"  Callback  {demo_callback_url()}  (shows the code after a demo sign-in)")
            quickstart = reverse("console:clients:quickstart", args=[client.client_id])
            lines.append(
                f"  Quickstart http://127.0.0.1:8000{quickstart}  (Test sign-in, as the end user below)"
            )
        except hydra.HydraError as exc:
            lines.append(f"  Client    not created: {exc}")
        try:
            if not kratos.list_identities(credentials_identifier=DEMO_USER_EMAIL).items:
                kratos.create_identity(
                    email=DEMO_USER_EMAIL,
                    password=DEMO_USER_PASSWORD,
                    name="Jane Doe",
                    metadata_public=DEMO_USER_METADATA,
                )
            lines.append(f"  End user  {DEMO_USER_EMAIL} / {DEMO_USER_PASSWORD}  (Kratos identity)")
        except kratos.KratosError as exc:
            lines.append(f"  End user  not created: {exc}")
        self.stdout.write("\n".join(lines))
