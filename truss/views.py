"""Project-level views: health probes, metrics and operator sign-in (console pages live in oauth2_admin)."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from truss import caching, metrics, proxies
from truss.ory import hydra, kratos

logger = logging.getLogger(__name__)


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


@require_safe
def metrics_endpoint(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics (text format), for a caller METRICS_TOKEN / METRICS_ALLOWED_IPS admit; 404 or 401
    otherwise (truss.metrics.allowed)."""
    refusal = metrics.allowed(request)
    if refusal is not None:
        return refusal
    response = HttpResponse(metrics.exposition(), content_type=metrics.CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


class LoginView(auth_views.LoginView):
    """Operator sign-in, throttled: after LOGIN_FAILURES_PER_ACCOUNT failures for one username, or
    LOGIN_FAILURES_PER_IP from one address (the client's, through TRUSTED_PROXIES), within LOGIN_FAILURE_WINDOW
    seconds, further attempts answer 429 without checking the password. Counters live in Django's cache (shared
    when CACHE_URL names Redis); only failures count, and a successful sign-in clears its username's counter (not
    the address's, so one good account cannot reset an address that is guessing at others)."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        keys = _throttle_keys(request, request.POST.get("username", ""))
        counts = cache.get_many(list(keys.values()))
        limits = {"account": settings.LOGIN_FAILURES_PER_ACCOUNT, "ip": settings.LOGIN_FAILURES_PER_IP}
        if any(counts.get(key, 0) >= limits[kind] for kind, key in keys.items()):
            logger.warning("operator sign-in throttled (ip %s)", proxies.client_ip(request))
            form = self.get_form_class()(
                request, initial={"username": request.POST.get("username", "")[:150]}
            )
            minutes = max(1, settings.LOGIN_FAILURE_WINDOW // 60)
            message = (
                f"Too many failed sign-in attempts. Wait {minutes} minutes before trying again, "
                "or ask an administrator to reset your password."
            )
            return self.render_to_response(self.get_context_data(form=form, throttled=message), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        for key in _throttle_keys(self.request, self.request.POST.get("username", "")).values():
            if cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW):
                continue
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW)
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        cache.delete(_throttle_keys(self.request, form.get_user().get_username())["account"])
        return super().form_valid(form)


def _throttle_keys(request: HttpRequest, username: str) -> dict[str, str]:
    """Cache keys of the failure counters for this username and client address (hashed: no raw input)."""
    digest = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
    return {
        "account": caching.login_failures_key("account", digest),
        "ip": caching.login_failures_key("ip", proxies.client_ip(request)),
    }
