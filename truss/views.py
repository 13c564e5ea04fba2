"""Project-level views: health probes and operator sign-in (console pages live in oauth2_admin)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from truss.ory import hydra, kratos


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Nothing external is checked."""
    return JsonResponse({"status": "ok"})


@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: the database, Hydra and Kratos all answer; 503 otherwise."""
    checks: dict[str, bool] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = True
    except Exception:
        checks["database"] = False
    checks["hydra"] = hydra.is_ready()
    checks["kratos"] = kratos.is_ready()
    ok = all(checks.values())
    return JsonResponse(
        {"status": "ready" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
