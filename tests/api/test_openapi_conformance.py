"""The served OpenAPI document is the contract: schemathesis drives every operation of the real app (WSGI,
in process) with valid and invalid input and checks each answer against it. Zero 5xx, zero violations.

`positive_data_acceptance` is left out on purpose: it expects every schema-valid request to succeed, but
business rules the schema cannot express (an unlisted symbol, an unknown wallet id, a cap) rightly answer
400/403/422 with their named codes."""
from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

MAX_EXAMPLES = 10


schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
# Undeclared query parameters are refused (400 unknown_parameter, see test_problems), but schemathesis also
# draws "extra parameters" whose values serialize to nothing on the wire and then expects a rejection.
schema.config.generation.update(max_examples=MAX_EXAMPLES, allow_extra_parameters=False)


@pytest.fixture
def in_test_transaction():
    """Requests served straight by the WSGI app would close the test's database connection when they finish
    (Django's close_old_connections); keep it open, as Django's own test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def partner_headers(in_test_transaction, alice, token) -> dict[str, str]:
    """A partner with an allowlisted wallet and a deployed token: valid input can succeed end to end."""
    return {"Authorization": f"Bearer {alice.api.token}"}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_every_operation_honours_its_documented_contract(case, partner_headers):
    case.call_and_validate(headers=partner_headers, excluded_checks=[positive_data_acceptance])
