"""PKCE for public clients: the shipped Hydra config enforces it (as the console's client form promises), the
stacks devstack starts run with it, and Truss's HYDRA_PKCE_ENFORCED says the same by default."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.conf import settings

from truss import devstack
from truss.devstack import ORY_DIR, Stack


def test_the_shipped_config_enforces_pkce_for_public_clients(tmp_path: Path):
    shipped = (ORY_DIR / "hydra.yml").read_text()
    assert yaml.safe_load(shipped)["oauth2"]["pkce"] == {"enforced_for_public_clients": True}
    for hook in (False, True):
        rendered = Stack(state_dir=tmp_path, token_hook=hook)._render("hydra.yml").read_text()
        assert yaml.safe_load(rendered)["oauth2"]["pkce"] == {"enforced_for_public_clients": True}


def test_truss_says_what_the_shipped_config_enforces():
    shipped = devstack.pkce_enforced((ORY_DIR / "hydra.yml").read_text())
    assert shipped == "public"
    assert shipped == settings.HYDRA_PKCE_ENFORCED
    assert Stack().env()["HYDRA_PKCE_ENFORCED"] == shipped


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("oauth2:\n  pkce:\n    enforced: true\n", "all"),
        ("oauth2:\n  pkce:\n    enforced_for_public_clients: true\n", "public"),
        ("oauth2:\n  pkce: {enforced_for_public_clients: true}\n", "public"),
        ("oauth2:\n  pkce:\n    enforced_for_public_clients: false\n", "off"),
        ("oauth2:\n  hashers: {algorithm: pbkdf2}\n", "off"),
    ],
)
def test_it_reads_a_configs_pkce_as_truss_names_it(text, words):
    assert devstack.pkce_enforced(text) == words


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_hydra_refuses_a_public_clients_sign_in_without_pkce(browser_for, make_app, make_identity):
    """Hydra checks PKCE when it issues the code, after login and consent: the client hears invalid_request."""
    app, person = make_app(), make_identity()
    browser = browser_for()
    _, login_page = browser.authorize(app["client_id"], code_challenge="", code_challenge_method="")
    consent_page = browser.sign_in(login_page, person["email"], person["password"])
    answer = browser.callback(browser.answer_consent(consent_page))
    assert answer.get("error") == "invalid_request" and "code" not in answer
    assert "code_challenge" in answer.get("error_description", "")

    with_pkce = browser_for()  # the same client with PKCE: a code, and tokens for it
    auth, login_page = with_pkce.authorize(app["client_id"])
    code = with_pkce.callback(
        with_pkce.answer_consent(with_pkce.sign_in(login_page, person["email"], person["password"]))
    )["code"]
    assert "access_token" in with_pkce.tokens(app["client_id"], code, auth)
