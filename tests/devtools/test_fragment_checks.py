"""at_hash / c_hash (OIDC Core §3.3.2.11) and which clients may run implicit or hybrid flows, without Hydra."""

from __future__ import annotations

from typing import Any

from oauth2_admin.devtools import flows
from truss.ory import hydra


def test_it_computes_c_hash_as_in_the_oidc_core_example() -> None:
    # OpenID Connect Core 1.0, Appendix A.4 (code id_token): the code and its c_hash.
    code = "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"
    assert flows.token_hash(code, "RS256") == "LDktKdoQak3Pk0cnXxCltA"
    assert len(flows.token_hash(code, "ES384")) == 32 and len(flows.token_hash(code, "EdDSA")) == 43


def test_it_flags_a_missing_or_wrong_hash() -> None:
    info: dict[str, Any] = {
        "problems": [],
        "header": {"alg": "RS256"},
        "claims": {"at_hash": flows.token_hash("right", "RS256")},
    }
    flows._check_hashes(info, access_token="right", code="some-code")
    assert info["hashes"] == ["at_hash matches the access token"]
    assert info["problems"] == ["c_hash is missing, though the answer carried the value it should bind"]
    assert info["verified"] is False
    wrong: dict[str, Any] = {"problems": [], "header": {"alg": "RS256"}, "claims": {"at_hash": "AAAA"}}
    flows._check_hashes(wrong, access_token="right", code=None)
    assert wrong["problems"] == ["at_hash does not match the access token"]


def test_it_offers_only_the_response_types_a_client_allows_with_the_grants_they_need() -> None:
    def client(grants: list[str], types: list[str]) -> hydra.OAuth2Client:
        return hydra.OAuth2Client.model_validate(
            {"client_id": "c", "grant_types": grants, "response_types": types}
        )

    every = list(flows.FRONT_CHANNEL)
    assert flows.front_channel_types(client(["authorization_code"], ["code", *every])) == []
    assert flows.front_channel_types(client(["implicit"], every)) == ["id_token token", "id_token"]
    assert flows.front_channel_types(
        client(["authorization_code", "implicit"], ["code", "code id_token"])
    ) == ["code id_token"]
