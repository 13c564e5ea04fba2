"""The client validation rules, fast: pure ClientIn/parse checks, no Hydra, no database."""

from __future__ import annotations

from typing import Any

import pytest

from oauth2_admin.clients import service
from oauth2_admin.clients.service import ClientInputError, parse

WEB = {"client_name": "App", "redirect_uris": ["https://app.example.com/cb"]}


def refused(payload: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(ClientInputError) as caught:
        parse(payload)
    return caught.value.fields


@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",  # leading space (stripped, then refused)
        "\tjavascript:alert(1)\n",
        "\x01javascript:alert(1)",  # browsers skip leading C0 controls
        "java\tscript:alert(1)",  # browsers drop tabs/newlines inside URLs
        "java\nscript:alert(1)",
        "javascript://example.com/%0Aalert(1)",
        "vbscript:msgbox(1)",
        "VBScript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
        "DATA:text/html;base64,PHNjcmlwdD4=",
        "file:///etc/passwd",
        "FILE://host/share",
    ],
)
@pytest.mark.parametrize("field", ["redirect_uris", "post_logout_redirect_uris"])
def test_it_refuses_dangerous_redirect_schemes(field: str, uri: str) -> None:
    fields = refused({**WEB, field: ["https://app.example.com/ok", uri]})
    assert list(fields) == [field]
    assert "never a safe redirect target" in fields[field][0] or "control character" in fields[field][0]


@pytest.mark.parametrize(
    "uri",
    [
        "com.example.app:/oauth2redirect",  # RFC 8252 private-use scheme
        "com.example.app:/cb?x=1",
        "myapp://callback",
        "http://127.0.0.1:8400/cb",
        "https://app.example.com/cb",
        "https://app.example.com/javascript:/cb",  # the word elsewhere is harmless
        "https://data.example.com/cb",
    ],
)
def test_it_keeps_native_and_web_redirects(uri: str) -> None:
    assert parse({**WEB, "redirect_uris": [uri], "post_logout_redirect_uris": [uri]}).redirect_uris == [uri]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("evil\x00app", "U+0000"),
        ("\x1b[31mred\x1b[0m", "U+001B"),  # ANSI escape sequence
        ("two\nlines", "U+000A"),
        ("del\x7f", "U+007F"),
        ("c1\x9bcontrol", "U+009B"),  # C1 CSI
        ("gpj\u202eexe.app", "U+202E"),  # right-to-left override
        ("\u202aembedded", "U+202A"),
        ("iso\u2066late\u2069", "U+2066"),
        ("pop\u2069", "U+2069"),
    ],
)
def test_it_refuses_control_and_bidi_characters_in_client_names(name: str, shown: str) -> None:
    fields = refused({**WEB, "client_name": name})
    assert list(fields) == ["client_name"]
    assert shown in fields["client_name"][0]
    assert "character" in fields["client_name"][0]


@pytest.mark.parametrize("field", ["contacts", "audience"])
def test_it_refuses_control_characters_in_other_display_strings(field: str) -> None:
    fields = refused({**WEB, field: ["ok@example.com", "ops\x1b[2J@example.com"]})
    assert list(fields) == [field] and "U+001B" in fields[field][0]


@pytest.mark.parametrize("name", ["Ünïcödé app", "アプリ", "تطبيق", "שלום app", "App (beta) — v2 ✓"])
def test_it_keeps_ordinary_unicode_names(name: str) -> None:
    assert parse({**WEB, "client_name": name}).client_name == name


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"redirect_uris": ["/callback"]}, "redirect_uris", "not an absolute URI"),
        ({"redirect_uris": ["https://app.example.com/cb#x"]}, "redirect_uris", "fragment"),
        ({"redirect_uris": ["https://a.example/cb", "https://a.example/cb"]}, "redirect_uris", "duplicate"),
        ({"redirect_uris": ["https:///cb"]}, "redirect_uris", "no host"),
        ({"redirect_uris": []}, "redirect_uris", "at least one redirect URI"),
        ({"allowed_cors_origins": ["myapp://x"]}, "allowed_cors_origins", "http(s)"),
        ({"logo_uri": "javascript:alert(1)"}, "logo_uri", "never a safe redirect target"),
        ({"grant_types": ["password"]}, "grant_types", "unknown grant type"),
        ({"grant_types": []}, "grant_types", "at least one grant type"),
        ({"grant_types": ["refresh_token", "client_credentials"]}, "grant_types", "only makes sense"),
        (
            {
                "token_endpoint_auth_method": "none",
                "grant_types": ["client_credentials"],
                "redirect_uris": [],
            },
            "grant_types",
            "public client",
        ),  # fmt: skip
        ({"response_types": ["token"]}, "response_types", "implicit grant"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "jwks_uri", "exactly one"),
        ({"jwks": {"keys": [{"kty": "RSA", "n": "x", "e": "AQAB", "d": "secret"}]}}, "jwks", "private key"),
        ({"subject_type": "pairwise", "access_token_strategy": "jwt"}, "subject_type", "opaque"),
        ({"owner": "truss:other"}, "owner", "cannot be set"),
        ({"client_secret": "x"}, "client_secret", "cannot be set"),
        ({"surprise": 1}, "surprise", "unknown field"),
        ({"client_name": ""}, "client_name", "at least 1"),
        ({"scope": 'openid "quoted"'}, "scope", "pattern"),
    ],
)
def test_it_puts_each_rule_violation_on_its_field(change: dict[str, Any], field: str, fragment: str) -> None:
    fields = refused({**WEB, **change})
    assert field in fields, fields
    assert fragment in " ".join(fields[field])


def test_it_derives_response_types_from_the_grants() -> None:
    data = parse({**WEB, "grant_types": ["authorization_code", "refresh_token"]})
    assert data.response_types == ["code"]
    assert parse({"client_name": "M2M", "grant_types": ["client_credentials"]}).response_types == []


def test_it_never_echoes_rejected_input_values() -> None:
    fields = refused({**WEB, "grant_types": "not-a-list-secret-value"})
    assert "not-a-list-secret-value" not in str(fields)


def test_it_warns_without_blocking_about_plain_http_and_implicit() -> None:
    data = parse({**WEB, "redirect_uris": ["http://app.example.com/cb"], "grant_types": ["implicit"]})
    notes = " ".join(service.warnings_for(data))
    assert "plain http" in notes and "deprecated" in notes
