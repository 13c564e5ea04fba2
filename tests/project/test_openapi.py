from __future__ import annotations


def test_it_documents_the_api(client):
    doc = client.get("/api/openapi.json").json()
    assert {"/api/hydra/health", "/api/hydra/clients", "/v1/oauth2/clients", "/v1/oauth2/discovery"} <= set(
        doc["paths"]
    )
    schemes = doc["components"]["securitySchemes"]
    assert schemes["TenantApiKey"] == {"type": "apiKey", "in": "header", "name": "apikey"}
    assert schemes["TenantSession"]["in"] == "cookie"
    create = doc["paths"]["/v1/oauth2/clients"]["post"]
    fields = create["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert "owner" not in fields and "client_id" not in fields and "redirect_uris" in fields
    assert create["security"] == [{"TenantApiKey": []}]


def test_it_serves_the_docs_without_a_cdn(client):
    html = client.get("/api/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
