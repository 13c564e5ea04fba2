"""Ready-to-run SDK snippets for one client: its real id, redirect URI, scopes and Hydra's URLs.

Secrets are never filled in: every snippet reads them from the environment (``CLIENT_SECRET``, ``REFRESH_TOKEN``,
``TRUSS_API_KEY`` …). The curl and Python client-credentials snippets are executed by the test suite against
the real stack (tests/devtools/test_snippets.py), so a snippet that stops working fails CI.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from django.conf import settings

from truss.ory import hydra


@dataclass(frozen=True)
class Snippet:
    id: str
    flow: str
    language: str
    code: str


@dataclass(frozen=True)
class Target:
    client_id: str
    redirect_uri: str
    scope: str
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    device_endpoint: str | None
    truss_url: str
    auth_method: str
    grant_types: frozenset[str] = frozenset()

    @property
    def public(self) -> bool:
        return self.auth_method == "none"

    @property
    def code_flow(self) -> bool:
        """Authorization-code snippets only for a client allowed that grant with a registered redirect URI
        (never an invented one)."""
        return "authorization_code" in self.grant_types and bool(self.redirect_uri)


def target_for(client: hydra.OAuth2Client, doc: hydra.OidcDiscovery, *, device: bool) -> Target:
    truss = str(settings.TRUSS_PUBLIC_URL).rstrip("/")
    callback = truss + "/console/devtools/callback"
    uris = client.redirect_uris
    redirect_uri = callback if callback in uris else (uris[0] if uris else "")
    extra = doc.model_extra or {}
    device_endpoint = extra.get("device_authorization_endpoint") if device else None
    return Target(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scope=client.scope or "openid",
        issuer=doc.issuer,
        authorization_endpoint=doc.authorization_endpoint,
        token_endpoint=doc.token_endpoint,
        device_endpoint=str(device_endpoint) if device_endpoint else None,
        truss_url=truss,
        auth_method=client.token_endpoint_auth_method or "client_secret_basic",
        grant_types=frozenset(client.grant_types),
    )


def _q(value: str) -> str:
    """A string literal valid in Python, JavaScript and Go (JSON's escapes are a subset of each)."""
    return json.dumps(value)


def _sh(value: str) -> str:
    return shlex.quote(value)


def _curl_auth(t: Target) -> str:
    if t.public:
        return f"--data-urlencode client_id={_sh(t.client_id)}"
    if t.auth_method == "client_secret_post":
        return (
            f'--data-urlencode client_id={_sh(t.client_id)} --data-urlencode "client_secret=$CLIENT_SECRET"'
        )
    # RFC 6749 §2.3.1: the id and secret are form-encoded before Basic; jq does it (a secret may hold '+' or '%').
    return f'-u "$(printf %s {_sh(t.client_id)} | jq -sRr @uri):$(printf %s "$CLIENT_SECRET" | jq -sRr @uri)"'


def _py_auth(t: Target) -> tuple[str, str]:
    """(extra form members, requests auth=) for Python requests."""
    if t.public:
        return f'"client_id": {_q(t.client_id)}, ', "None"
    if t.auth_method == "client_secret_post":
        return f'"client_id": {_q(t.client_id)}, "client_secret": os.environ["CLIENT_SECRET"], ', "None"
    return "", f'(quote({_q(t.client_id)}, safe=""), quote(os.environ["CLIENT_SECRET"], safe=""))'


def snippets(t: Target) -> list[Snippet]:
    out: list[Snippet] = []
    py_extra, py_auth = _py_auth(t)
    authlib_method = {"none": "none", "client_secret_post": "client_secret_post"}.get(
        t.auth_method, "client_secret_basic"
    )
    # Authlib sends Basic credentials as they are; Hydra form-decodes them (RFC 6749 §2.3.1): encode first.
    secret_py = {"none": "None", "client_secret_post": 'os.environ["CLIENT_SECRET"]'}.get(
        t.auth_method, 'quote(os.environ["CLIENT_SECRET"], safe="")'
    )
    secret_js = "undefined" if t.public else "process.env.CLIENT_SECRET"

    # --- client credentials ---
    if not t.public and "client_credentials" in t.grant_types:
        out += [
            Snippet(
                "cc-curl",
                "Client credentials",
                "curl",
                f"curl -sS -X POST {_sh(t.token_endpoint)} {_curl_auth(t)} \\\n"
                f"  --data-urlencode grant_type=client_credentials --data-urlencode scope={_sh(t.scope)}",
            ),
            Snippet(
                "cc-python",
                "Client credentials",
                "Python (requests)",
                "import json, os\nfrom urllib.parse import quote\n\nimport requests\n\n"
                f"response = requests.post(\n    {_q(t.token_endpoint)},\n"
                f'    data={{{py_extra}"grant_type": "client_credentials", "scope": {_q(t.scope)}}},\n'
                f"    auth={py_auth},\n    timeout=10,\n)\nresponse.raise_for_status()\n"
                "print(json.dumps(response.json()))\n",
            ),
            Snippet(
                "cc-authlib",
                "Client credentials",
                "Python (Authlib)",
                "import json, os\nfrom urllib.parse import quote\n\nfrom authlib.integrations.requests_client import OAuth2Session\n\n"
                f"session = OAuth2Session(\n    {_q(t.client_id)},\n    {secret_py},\n"
                f"    scope={_q(t.scope)},\n    token_endpoint_auth_method={_q(authlib_method)},\n)\n"
                f'token = session.fetch_token({_q(t.token_endpoint)}, grant_type="client_credentials")\n'
                "print(json.dumps(dict(token)))\n",
            ),
            Snippet(
                "cc-node",
                "Client credentials",
                "JavaScript (Node, openid-client 6)",
                'import * as client from "openid-client";\n\n'
                f"const config = await client.discovery(new URL({_q(t.issuer)}), {_q(t.client_id)}, {secret_js});\n"
                f"const tokens = await client.clientCredentialsGrant(config, {{ scope: {_q(t.scope)} }});\n"
                "console.log(tokens.access_token);\n",
            ),
            Snippet(
                "cc-go",
                "Client credentials",
                "Go (golang.org/x/oauth2)",
                'package main\n\nimport (\n\t"context"\n\t"fmt"\n\t"os"\n\t"strings"\n\n'
                '\t"golang.org/x/oauth2/clientcredentials"\n)\n\nfunc main() {\n'
                f"\tconf := clientcredentials.Config{{\n\t\tClientID:     {_q(t.client_id)},\n"
                '\t\tClientSecret: os.Getenv("CLIENT_SECRET"),\n'
                f"\t\tTokenURL:     {_q(t.token_endpoint)},\n\t\tScopes:       strings.Fields({_q(t.scope)}),\n\t}}\n"
                "\ttoken, err := conf.Token(context.Background())\n\tif err != nil {\n\t\tpanic(err)\n\t}\n"
                "\tfmt.Println(token.AccessToken)\n}\n",
            ),
        ]

    # --- authorization code + PKCE ---
    if t.code_flow:
        out += _code_snippets(t, secret_py, secret_js, authlib_method)

    # --- refresh ---
    if "refresh_token" in t.grant_types:
        out += _refresh_snippets(t, py_extra, py_auth)
    out += _introspection_snippets(t)

    # --- device flow (Hydra >= v25.4) ---
    if t.device_endpoint:
        out += [
            Snippet(
                "device-curl",
                "Device authorization",
                "curl",
                f"curl -sS -X POST {_sh(t.device_endpoint)} {_curl_auth(t)} --data-urlencode scope={_sh(t.scope)}\n"
                "# show user_code and verification_uri to the user, then poll every `interval` seconds:\n"
                f"curl -sS -X POST {_sh(t.token_endpoint)} {_curl_auth(t)} \\\n"
                '  --data-urlencode grant_type=urn:ietf:params:oauth:grant-type:device_code --data-urlencode "device_code=$DEVICE_CODE"',
            ),
        ]
    return out


def _code_snippets(t: Target, secret_py: str, secret_js: str, authlib_method: str) -> list[Snippet]:
    return [
        Snippet(
            "code-curl",
            "Authorization code + PKCE",
            "curl",
            "VERIFIER=$(openssl rand -base64 48 | tr '+/' '-_' | tr -d '=\\n')\n"
            "CHALLENGE=$(printf %s \"$VERIFIER\" | openssl dgst -sha256 -binary | openssl base64 | tr '+/' '-_' | tr -d '=\\n')\n"
            f'echo "Open: {t.authorization_endpoint}?response_type=code&client_id=$(printf %s {_sh(t.client_id)} | jq -sRr @uri)'
            f"&redirect_uri=$(printf %s {_sh(t.redirect_uri)} | jq -sRr @uri)&scope=$(printf %s {_sh(t.scope)} | jq -sRr @uri)"
            '&state=$(openssl rand -hex 16)&code_challenge=$CHALLENGE&code_challenge_method=S256"\n'
            "# then, with the code from the redirect:\n"
            f"curl -sS -X POST {_sh(t.token_endpoint)} {_curl_auth(t)} \\\n"
            f'  --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" \\\n'
            f'  --data-urlencode redirect_uri={_sh(t.redirect_uri)} --data-urlencode "code_verifier=$VERIFIER"',
        ),
        Snippet(
            "code-authlib",
            "Authorization code + PKCE",
            "Python (Authlib)",
            "import os, secrets\nfrom urllib.parse import quote\n\nfrom authlib.integrations.requests_client import OAuth2Session\n\n"
            f"session = OAuth2Session(\n    {_q(t.client_id)},\n    {secret_py},\n    scope={_q(t.scope)},\n"
            f'    redirect_uri={_q(t.redirect_uri)},\n    code_challenge_method="S256",\n'
            f"    token_endpoint_auth_method={_q(authlib_method)},\n)\n"
            "verifier = secrets.token_urlsafe(48)\n"
            f"url, state = session.create_authorization_url({_q(t.authorization_endpoint)}, code_verifier=verifier)\n"
            'print("Open:", url)\n'
            'callback = input("Paste the URL you were redirected to: ")\n'
            f"token = session.fetch_token({_q(t.token_endpoint)}, authorization_response=callback,\n"
            "                            code_verifier=verifier)\nprint(token)\n",
        ),
        Snippet(
            "code-browser",
            "Authorization code + PKCE",
            "JavaScript (browser, public client)",
            "const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))\n"
            '  .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");\n'
            "const verifier = b64url(crypto.getRandomValues(new Uint8Array(48)));\n"
            'const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));\n'
            "const state = b64url(crypto.getRandomValues(new Uint8Array(16)));\n"
            'sessionStorage.setItem("pkce", JSON.stringify({ verifier, state }));\n'
            f"const url = new URL({_q(t.authorization_endpoint)});\n"
            f'url.search = new URLSearchParams({{ response_type: "code", client_id: {_q(t.client_id)},\n'
            f"  redirect_uri: {_q(t.redirect_uri)}, scope: {_q(t.scope)}, state,\n"
            '  code_challenge: challenge, code_challenge_method: "S256" });\n'
            "location.assign(url);\n"
            "// On the redirect URI: check state, then POST grant_type=authorization_code, code, redirect_uri,\n"
            "// client_id and code_verifier to the token endpoint (the client needs allowed_cors_origins).\n",
        ),
        Snippet(
            "code-node",
            "Authorization code + PKCE",
            "JavaScript (Node, openid-client 6)",
            'import * as client from "openid-client";\n\n'
            f"const config = await client.discovery(new URL({_q(t.issuer)}), {_q(t.client_id)}, {secret_js});\n"
            "const verifier = client.randomPKCECodeVerifier();\n"
            "const challenge = await client.calculatePKCECodeChallenge(verifier);\n"
            f"const url = client.buildAuthorizationUrl(config, {{ redirect_uri: {_q(t.redirect_uri)},\n"
            f'  scope: {_q(t.scope)}, code_challenge: challenge, code_challenge_method: "S256", state: client.randomState() }});\n'
            'console.log("Open:", url.href);\n'
            "// In the redirect handler (currentUrl = the URL the browser came back to):\n"
            "// const tokens = await client.authorizationCodeGrant(config, currentUrl,\n"
            "//   { pkceCodeVerifier: verifier, expectedState: state });\n",
        ),
        Snippet(
            "code-go",
            "Authorization code + PKCE",
            "Go (golang.org/x/oauth2)",
            'package main\n\nimport (\n\t"context"\n\t"fmt"\n\t"os"\n\t"strings"\n\n\t"golang.org/x/oauth2"\n)\n\n'
            f"func main() {{\n\tconf := &oauth2.Config{{\n\t\tClientID:     {_q(t.client_id)},\n"
            '\t\tClientSecret: os.Getenv("CLIENT_SECRET"),\n'
            f"\t\tRedirectURL:  {_q(t.redirect_uri)},\n\t\tScopes:       strings.Fields({_q(t.scope)}),\n"
            f"\t\tEndpoint:     oauth2.Endpoint{{AuthURL: {_q(t.authorization_endpoint)}, TokenURL: {_q(t.token_endpoint)}}},\n\t}}\n"
            "\tverifier, state := oauth2.GenerateVerifier(), oauth2.GenerateVerifier() // state: any random string\n"
            '\tfmt.Println("Open:", conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))\n'
            '\tvar code string\n\tfmt.Print("code: ")\n\tfmt.Scanln(&code)\n'
            "\ttoken, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))\n"
            "\tif err != nil {\n\t\tpanic(err)\n\t}\n\tfmt.Println(token.AccessToken)\n}\n",
        ),
    ]


def _refresh_snippets(t: Target, py_extra: str, py_auth: str) -> list[Snippet]:
    return [
        Snippet(
            "refresh-curl",
            "Refresh",
            "curl",
            f"curl -sS -X POST {_sh(t.token_endpoint)} {_curl_auth(t)} \\\n"
            '  --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$REFRESH_TOKEN"',
        ),
        Snippet(
            "refresh-python",
            "Refresh",
            "Python (requests)",
            "import json, os\nfrom urllib.parse import quote\n\nimport requests\n\n"
            f"response = requests.post(\n    {_q(t.token_endpoint)},\n"
            f'    data={{{py_extra}"grant_type": "refresh_token", "refresh_token": os.environ["REFRESH_TOKEN"]}},\n'
            f"    auth={py_auth},\n    timeout=10,\n)\nresponse.raise_for_status()\n"
            "print(json.dumps(response.json()))  # Hydra rotates: keep the new refresh_token\n",
        ),
    ]


def _introspection_snippets(t: Target) -> list[Snippet]:
    """Introspection through Truss's API (tenant-scoped; a service_role key)."""
    introspect_url = t.truss_url + "/v1/oauth2/introspect"
    return [
        Snippet(
            "introspect-curl",
            "Introspection via Truss",
            "curl",
            f'curl -sS -X POST {_sh(introspect_url)} -H "apikey: $TRUSS_API_KEY" \\\n'
            "  -H 'Content-Type: application/json' --data \"$(jq -n --arg t \"$ACCESS_TOKEN\" '{token: $t}')\"",
        ),
        Snippet(
            "introspect-python",
            "Introspection via Truss",
            "Python (requests)",
            "import json, os\n\nimport requests\n\n"
            f'response = requests.post({_q(introspect_url)}, headers={{"apikey": os.environ["TRUSS_API_KEY"]}},\n'
            '                         json={"token": os.environ["ACCESS_TOKEN"]}, timeout=10)\n'
            "response.raise_for_status()\nprint(json.dumps(response.json()))\n",
        ),
    ]
