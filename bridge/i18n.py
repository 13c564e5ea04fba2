"""Language for the end-user screens: the OAuth request's ``ui_locales`` first, then ``Accept-Language``.

The console stays English (no LocaleMiddleware); bridge views activate a language for their own request only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from django.http import HttpRequest, HttpResponse
from django.template.response import SimpleTemplateResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

V = TypeVar("V", bound=Callable[..., HttpResponse])


def _supported(tag: str) -> str | None:
    try:
        return translation.get_supported_language_variant(tag.strip().replace("_", "-").lower())
    except LookupError:
        return None


def choose(request: HttpRequest, ui_locales: Sequence[str] | None = None) -> str:
    """The first supported tag of ``ui_locales`` (OIDC Core §3.1.2.1, in preference order), else the browser's."""
    for tag in ui_locales or ():
        found = _supported(tag)
        if found:
            return found
    return translation.get_language_from_request(request)


def use(request: HttpRequest, ui_locales: Sequence[str] | None) -> None:
    """Switch this request to the OAuth request's preferred language (called once Hydra's request is known)."""
    translation.activate(choose(request, ui_locales))


def localized(view: V) -> V:
    """Runs the view (and renders its template) in the browser's language, or the one ``use()`` picks."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        previous = translation.get_language()
        translation.activate(choose(request))
        try:
            response = view(request, *args, **kwargs)
            # Templates render lazily; render now, while the chosen language is still active.
            if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
                response.render()
            response.headers["Content-Language"] = translation.get_language()
            patch_vary_headers(response, ("Accept-Language",))
            return response
        finally:
            translation.activate(previous)

    return cast(V, wrapper)
