"""Small pure pieces of the bridge: challenge checks, prompt parsing, markers, colours, Kratos texts, nodes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.template.response import TemplateResponse
from django.test import RequestFactory
from django.utils import translation

from bridge import branding, i18n, kratos_text, links, ui
from bridge.flows import common
from truss.ory import kratos


@pytest.mark.parametrize(
    "value", [None, "", "short", "a" * 6001, "abc def ghi", "abc<script>", "../../etc/passwd%00"]
)
def test_it_refuses_malformed_challenges(value):
    with pytest.raises(links.InvalidChallenge):
        links.clean_challenge(value)


def test_it_accepts_hydra_shaped_challenges():
    assert links.clean_challenge("-a4Y_vuVNI3w3-I5OMnaz==") == "-a4Y_vuVNI3w3-I5OMnaz=="
    assert links.clean_challenge("4c0bf1fd-41a0-41e0-8a45-2dd5aa39f461")


def test_it_reads_prompt_and_max_age_from_the_original_request():
    url = "http://h/oauth2/auth?client_id=x&prompt=login+consent&max_age=60"
    assert common.prompt_values(url) == {"login", "consent"}
    assert common.max_age(url) == 60 and common.max_age("http://h/?max_age=soon") is None


def _session(authenticated: datetime) -> kratos.Session:
    return kratos.Session.model_validate(
        {"id": "s", "identity": {"id": "i"}, "authenticated_at": authenticated.isoformat()}
    )


def test_the_sent_marker_is_bound_to_its_challenge_and_compares_kratos_timestamps():
    before = _session(datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
    marker = common.sent_marker("challenge-one", before)
    read = common.read_sent_marker(marker, "challenge-one")
    assert read is not None and not read.is_fresh(before)
    assert read.is_fresh(_session(datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC)))
    assert common.read_sent_marker(marker, "challenge-two") is None
    assert common.read_sent_marker(marker[:-2] + "xx", "challenge-one") is None
    no_session = common.read_sent_marker(common.sent_marker("c" * 10, None), "c" * 10)
    assert no_session is not None and no_session.is_fresh(before)


@pytest.mark.parametrize(
    "accent", ["#2453d6", "#ffd400", "#00ff00", "#000000", "#ffffff", "#e11d48", "#777777", "#1a9b8f"]
)
def test_every_accent_colour_keeps_aa_contrast(accent):
    colours = branding.palette(accent)
    assert branding.contrast(colours["brand"], colours["brand-fg"]) >= 4.5
    assert branding.contrast(colours["brand-ink"], "#ffffff") >= 4.5


def test_it_picks_the_language_from_ui_locales_then_accept_language():
    request = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE="de")
    assert i18n.choose(request, ["fr", "de-CH"]) == "de"
    assert i18n.choose(request, ["fr"]) == "de"
    assert i18n.choose(RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE="fr"), None) == "en"


def test_it_translates_kratos_messages_by_id_and_keeps_unknown_ones():
    with translation.override("de"):
        assert (
            kratos_text.translate(kratos.UiText(id=1010022, text="Sign in with password", type="info"))
            == "Mit Passwort anmelden"
        )
        missing = kratos.UiText(
            id=4000002, text="Property email is missing.", type="error", context={"property": "email"}
        )
        assert kratos_text.translate(missing) == "Das Feld email fehlt."
        label = kratos.UiText(id=1070002, text="E-mail", type="info", context={"title": "E-mail"})
        assert kratos_text.translate(label) == "E-Mail"
        assert kratos_text.translate(kratos.UiText(id=9999999, text="Brand new", type="info")) == "Brand new"


def test_it_turns_nodes_into_labelled_fields_and_prefills_the_login_hint():
    flow = kratos.SelfServiceFlow.model_validate(
        {
            "kind": "login",
            "id": "f",
            "ui": {
                "action": "http://k/self-service/login?flow=f",
                "method": "POST",
                "nodes": [
                    {
                        "type": "input",
                        "group": "default",
                        "attributes": {"name": "csrf_token", "type": "hidden", "value": "tok"},
                    },
                    {
                        "type": "input",
                        "group": "default",
                        "attributes": {"name": "identifier", "type": "text", "value": ""},
                        "meta": {
                            "label": {
                                "id": 1070002,
                                "text": "E-mail",
                                "type": "info",
                                "context": {"title": "E-mail"},
                            }
                        },
                        "messages": [
                            {
                                "id": 4000002,
                                "text": "Property identifier is missing.",
                                "type": "error",
                                "context": {"property": "identifier"},
                            }
                        ],
                    },
                    {
                        "type": "input",
                        "group": "password",
                        "attributes": {"name": "method", "type": "submit", "value": "password"},
                        "meta": {"label": {"id": 1010022, "text": "Sign in with password", "type": "info"}},
                    },
                    {
                        "type": "script",
                        "group": "webauthn",
                        "attributes": {"id": "s", "src": "http://evil/x.js"},
                    },
                    {
                        "type": "a",
                        "group": "default",
                        "attributes": {
                            "id": "a",
                            "href": "javascript:alert(1)",
                            "title": {"id": 1, "text": "x", "type": "info"},
                        },
                    },
                ],
            },
        }
    )
    (form,) = ui.forms_for(flow, login_hint="ada@example.test")
    identifier = next(f for f in form.fields if f.name == "identifier")
    assert (identifier.value, identifier.autocomplete, identifier.has_error) == (
        "ada@example.test",
        "username",
        True,
    )
    assert [f.name for f in form.hidden_fields] == ["csrf_token"] and [b.value for b in form.buttons] == [
        "password"
    ]
    assert all(f.kind != "script" for f in form.fields)
    assert next(f for f in form.fields if f.kind == "a").href == ""  # javascript: links are dropped


def test_an_expired_challenge_follows_hydras_redirect_or_explains():
    from bridge import responses
    from truss.ory import hydra

    request = RequestFactory().get("/api/hydra/bridge/login")
    gone = hydra.HydraGone(410, "gone", redirect_to="http://127.0.0.1:9/callback?error=expired")
    followed = responses.upstream_problem(request, gone)
    assert followed.status_code == 302 and followed["Location"] == "http://127.0.0.1:9/callback?error=expired"
    page = responses.upstream_problem(request, hydra.HydraGone(410, "gone"))
    assert isinstance(page, TemplateResponse)
    assert page.status_code == 410 and "has expired" in page.render().content.decode()


def test_the_email_label_is_one_word_in_english_and_german():
    label = kratos.UiText(id=1070002, text="E-mail", type="info", context={"title": "E-mail"})
    recovery = kratos.UiText(id=1070007, text="Email", type="info")
    with translation.override("en"):
        assert kratos_text.translate(label) == kratos_text.translate(recovery) == "Email"
    with translation.override("de"):
        assert kratos_text.translate(label) == kratos_text.translate(recovery) == "E-Mail"
