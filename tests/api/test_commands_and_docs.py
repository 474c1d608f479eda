"""Ops scripts create partners and keys from the command line (the key is the last line of output), and the
OpenAPI document and its browsable UI are served without a CDN."""
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from api.models import ApiKey
from partners.models import Partner

from .support import PartnerClient


def run(*args: str) -> list[str]:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_ops_create_a_partner_and_a_key_whose_last_output_line_is_the_working_key(db, unique):
    name = f"Acme Markets {unique}"
    lines = run("create_partner", "--name", name, "--actor", "user:ops-alice")
    partner_id = lines[-1]
    assert Partner.objects.get(id=partner_id).name == name and partner_id == f"acme-markets-{unique}"
    key = run("create_api_key", "--partner", name, "--scopes", "read", "mint", "--expires-in-days", "30")[-1]
    assert key.startswith("slk_")
    stored = ApiKey.objects.get(prefix=key.split("_")[1])
    assert (stored.partner_id, stored.scopes, stored.created_by) == (partner_id, ["mint", "read"], "system:create_api_key")
    assert stored.expires_at is not None
    assert PartnerClient(key, partner_id).get("/api/v1/wallets").status == 200

    rotated = run("rotate_api_key", "--prefix", stored.prefix, "--grace-hours", "0")[-1]
    assert PartnerClient(rotated, partner_id).get("/api/v1/wallets").status == 200
    assert PartnerClient(key, partner_id).get("/api/v1/wallets").status == 401
    run("revoke_api_key", "--prefix", rotated.split("_")[1], "--reason", "offboarded")
    assert PartnerClient(rotated, partner_id).get("/api/v1/wallets").json()["code"] == "api_key_revoked"


def test_a_refused_command_says_why_in_one_line(db):
    with pytest.raises(CommandError, match="^unknown_partner: "):
        call_command("create_api_key", "--partner", "nobody-at-all", stdout=io.StringIO())
    call_command("create_partner", "--name", "Scope Test", stdout=io.StringIO())
    with pytest.raises(CommandError, match="^invalid_scopes: "):
        call_command("create_api_key", "--partner", "scope-test", "--scopes", "admin", stdout=io.StringIO())


def test_the_openapi_document_describes_bearer_keys_problems_and_examples(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert schema["components"]["securitySchemes"]["PartnerApiKey"]["scheme"] == "bearer"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            success = [code for code in responses if code.startswith("2")]
            assert success, f"{method} {path} documents no success"
            assert any("examples" in body for code in success for body in responses[code].get("content", {}).values()), \
                f"{method} {path} has no example"
            problems = [code for code, response in responses.items()
                        if "application/problem+json" in response.get("content", {})]
            assert problems, f"{method} {path} documents no problem"
            if method in ("post", "delete"):
                assert any(p["name"] == "Idempotency-Key" and p["required"] for p in operation["parameters"])


def test_the_docs_page_loads_swagger_ui_from_this_server(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/api/docs/assets/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and asset["Content-Type"] in ("text/javascript", "application/javascript")
    assert client.get("/api/docs/assets/../../settings.py").status_code == 404


def test_an_expiry_beyond_ten_years_is_refused_in_one_line_and_no_key_is_stored(db, unique):
    call_command("create_partner", "--name", f"Far Future {unique}", stdout=io.StringIO())
    keys_before = ApiKey.objects.count()

    with pytest.raises(CommandError, match="999999999 is not between 1 and 3650 days"):
        call_command("create_api_key", "--partner", f"far-future-{unique}", "--expires-in-days", "999999999",
                     stdout=io.StringIO())

    assert ApiKey.objects.count() == keys_before
