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
        "com.example.app://callback",
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
        ),
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


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("ftp://x", "ftp: scheme"),
        ("FTP://files.example.com/cb", "ftp: scheme"),
        ("file:///etc/passwd", "file: scheme"),
        ("javascript:alert(1)", "javascript: scheme"),
        ("data:text/html,x", "data: scheme"),
        ("myapp://callback", "reverse-domain form"),  # a private-use scheme needs a dot (RFC 8252 §7.1)
        ("gopher://example.com/cb", "reverse-domain form"),
        ("ws://app.example.com/cb", "reverse-domain form"),
        ("urn:ietf:wg:oauth:2.0:oob", "reverse-domain form"),
    ],
)
@pytest.mark.parametrize("field", ["redirect_uris", "post_logout_redirect_uris"])
def test_it_refuses_redirect_schemes_that_are_neither_web_nor_native(
    field: str, uri: str, fragment: str
) -> None:
    fields = refused({**WEB, field: ["https://app.example.com/ok", uri]})
    assert list(fields) == [field] and fragment in fields[field][0], fields


def test_it_shows_the_redirect_scheme_rule_in_the_live_check() -> None:
    notes = service.uri_notes(["ftp://x", "myapp://cb", "com.example.app:/cb", "https://app.example.com/cb"])
    assert [bool(problem) for problem, _ in notes] == [True, True, False, False]


@pytest.mark.parametrize("value", ["=1+2", "+SUM(1)", "-2+3", "@A1", "=HYPERLINK(1)", " =1+2"])
def test_it_refuses_scope_and_audience_values_a_spreadsheet_would_run(value: str) -> None:
    scope = refused({**WEB, "scope": f"openid {value.strip()}"})
    assert list(scope) == ["scope"] and "formula" in scope["scope"][0], scope
    audience = refused({**WEB, "audience": ["https://api.example.com", value]})
    assert list(audience) == ["audience"] and "formula" in audience["audience"][0], audience


@pytest.mark.parametrize("value", ["\t=1+2", "\r=1+2"])
def test_it_refuses_audience_values_starting_with_tab_or_carriage_return(value: str) -> None:
    fields = refused({**WEB, "audience": [value]})
    assert list(fields) == ["audience"]


def test_it_keeps_ordinary_scopes_and_audiences_with_formula_characters_inside() -> None:
    data = parse(
        {**WEB, "scope": "openid a=b x+y read:all e-mail", "audience": ["https://api.example.com/a=b"]}
    )
    assert data.scope == "openid a=b x+y read:all e-mail" and data.audience == ["https://api.example.com/a=b"]


FETCHED = ["jwks_uri", "sector_identifier_uri", "backchannel_logout_uri"]
INTERNAL = [
    "http://127.0.0.1:4445/admin/keys/hydra.openid.id-token",
    "http://2130706433/",  # decimal 127.0.0.1
    "http://0x7f000001/",  # hex
    "http://0177.0.0.1/",  # octal
    "http://127.1/",  # short form
    "http://0.0.0.0/",
    "http://0/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
    "http://[::ffff:a9fe:a9fe]/",  # IPv4-mapped 169.254.169.254, hex notation
    "http://[0:0:0:0:0:ffff:10.0.0.1]/",
    "http://[fc00::1]/",  # unique local
    "http://[fd12:3456::1]/",
    "http://[fe80::1%25eth0]/",  # link-local with a zone
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",  # CGNAT
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.0.1/",
    "http://%31%32%37.0.0.1/",  # percent-encoded host
    "https://user@127.0.0.1/",
    "http://hydra:4445/admin/clients",  # a single-label (container) name
    "http://metadata.google.internal/",
    "http://256.1.1.1/",
]


@pytest.mark.parametrize("uri", INTERNAL)
@pytest.mark.parametrize("field", FETCHED)
def test_it_refuses_internal_hosts_for_every_uri_hydra_fetches(field: str, uri: str) -> None:
    extra: dict[str, Any] = {"subject_type": "pairwise"} if field == "sector_identifier_uri" else {}
    if field == "jwks_uri":
        extra = {"token_endpoint_auth_method": "private_key_jwt"}
    fields = refused({**WEB, **extra, field: uri})
    assert field in fields, fields
    message = " ".join(fields[field])
    assert "Hydra requests this URI itself" in message or "invalid host" in message, message


@pytest.mark.parametrize("field", FETCHED)
def test_it_keeps_public_hosts_for_the_uris_hydra_fetches(field: str) -> None:
    extra: dict[str, Any] = {"token_endpoint_auth_method": "private_key_jwt"} if field == "jwks_uri" else {}
    for uri in ("https://keys.example.com/jwks.json", "https://8.8.8.8/x", "https://[2606:4700::1111]/x"):
        assert getattr(parse({**WEB, **extra, field: uri}), field) == uri


def test_it_leaves_browser_loaded_uris_on_loopback_alone() -> None:
    data = parse(
        {
            **WEB,
            "frontchannel_logout_uri": "http://127.0.0.1:8400/fc",
            "redirect_uris": ["http://127.0.0.1:8400/cb"],
        }
    )
    assert data.frontchannel_logout_uri == "http://127.0.0.1:8400/fc"
