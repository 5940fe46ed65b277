"""The published schema documents every error answer with the shape the server sends."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from laotie.core.errors import AppError, CommonError, IdempotencyError, status_of, status_table
from laotie.orders.errors import OrderError

ERROR_REF = "#/components/schemas/ErrorOut"


async def _schema(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    schema: dict[str, Any] = answer.json()
    return schema


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def _codes(answer: dict[str, Any]) -> list[str]:
    schema = answer["content"]["application/json"]["schema"]
    assert schema["allOf"][0] == {"$ref": ERROR_REF}
    codes: list[str] = schema["allOf"][1]["properties"]["code"]["enum"]
    return codes


async def test_every_operation_documents_its_refusals_with_the_real_shape(
    client: httpx.AsyncClient,
) -> None:
    schema = await _schema(client)
    operations = _operations(schema)
    assert len(operations) > 40
    for path, method, operation in operations:
        refusals = {s: a for s, a in operation["responses"].items() if s.startswith(("4", "5"))}
        assert "503" in refusals, (method, path)
        for status, answer in refusals.items():
            codes = _codes(answer)
            assert codes, (method, path, status)
            # Each listed code answers with the status it is listed under.
            assert {status_of(code) for code in codes} == {int(status)}, (method, path, status)
            assert all(f"`{code}`" in answer["description"] for code in codes)
        takes_input = operation.get("parameters") or operation.get("requestBody")
        if takes_input:
            assert "invalid_input" in _codes(refusals["422"]), (method, path)
        if operation.get("requestBody"):
            assert _codes(refusals["413"]) == ["body_too_large"], (method, path)
            assert "malformed_body" in _codes(refusals["400"]), (method, path)


async def test_the_validation_answer_is_the_one_the_server_sends(
    client: httpx.AsyncClient,
) -> None:
    schema = await _schema(client)
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components
    assert "ValidationError" not in components
    error = components["ErrorOut"]
    assert set(error["required"]) == {"code", "message"}
    assert set(error["properties"]) == {"code", "message", "errors"}
    answer = await client.post("/api/auth/tokens", json={"email": 5})
    assert answer.status_code == 422
    body = answer.json()
    assert set(body) == set(error["properties"])
    assert body["code"] == "invalid_input"
    assert set(body["errors"][0]) == set(components["FieldProblem"]["properties"])


async def test_signed_in_routes_document_401_and_public_ones_do_not(
    client: httpx.AsyncClient,
) -> None:
    paths = (await _schema(client))["paths"]
    assert _codes(paths["/api/orders"]["post"]["responses"]["401"]) == ["not_authenticated"]
    room_order = paths["/api/live/sessions/{session_id}/orders"]["post"]["responses"]
    assert _codes(room_order["401"]) == ["not_authenticated"]
    assert "401" not in paths["/api/shops/{shop_id}"]["get"]["responses"]
    assert _codes(paths["/api/auth/tokens"]["post"]["responses"]["429"]) == ["rate_limited"]


async def test_the_idempotency_key_is_documented_as_required_with_its_length(
    client: httpx.AsyncClient,
) -> None:
    paths = (await _schema(client))["paths"]
    for path in ("/api/orders", "/api/cart/checkout", "/api/live/sessions/{session_id}/orders"):
        operation = paths[path]["post"]
        (key,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
        assert key["in"] == "header"
        assert key["required"] is True
        assert (key["schema"]["minLength"], key["schema"]["maxLength"]) == (8, 80)
        assert key["schema"]["type"] == "string"
        assert {"idempotency_key_missing", "idempotency_key_invalid"} <= set(
            _codes(operation["responses"]["400"])
        )


def test_a_code_answers_the_status_of_its_domain_table() -> None:
    assert AppError.of(OrderError.SKU_NOT_FOUND, "gone").status == 404
    assert AppError.of(IdempotencyError.INVALID, "short").status == 400
    assert AppError.of(CommonError.BUSY, "later").status == 503
    # An explicit status still wins, for code written before the tables.
    assert AppError(OrderError.SKU_NOT_FOUND, "gone", 410).status == 410


def test_a_code_cannot_answer_two_statuses() -> None:
    from enum import StrEnum

    class Clashing(StrEnum):
        NOT_FOUND = "not_found"

    with pytest.raises(TypeError, match="answers 404 elsewhere"):
        status_table(Clashing, {Clashing.NOT_FOUND: 410})

    class Incomplete(StrEnum):
        ONE = "one_code_of_a_test"
        TWO = "two_code_of_a_test"

    with pytest.raises(TypeError, match="no status for two_code_of_a_test"):
        status_table(Incomplete, {Incomplete.ONE: 409})


async def test_a_body_that_does_not_parse_has_its_own_documented_code(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        "/api/auth/tokens", content=b"BE\x87n\xff\x05", headers={"Content-Type": "application/json"}
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "malformed_body")


async def test_every_integer_parameter_is_bounded_within_64_bits(
    client: httpx.AsyncClient,
) -> None:
    # An unbounded integer reaches the database, and PostgreSQL refuses one past int64.
    schema = await _schema(client)
    for path, method, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            spec = parameter["schema"]
            kinds = [spec, *spec.get("anyOf", [])]
            for kind in (k for k in kinds if k.get("type") == "integer"):
                assert kind.get("maximum", 2**63) < 2**63, (method, path, parameter["name"])


async def test_every_way_to_buy_documents_a_suspended_shop(client: httpx.AsyncClient) -> None:
    # A suspended shop's goods cannot be ordered (tests/trust/test_penalties.py): each
    # operation that places orders says so among its 409 answers.
    schema = await _schema(client)
    for path in ("/api/orders", "/api/cart/checkout", "/api/live/sessions/{session_id}/orders"):
        assert "shop_suspended" in _codes(schema["paths"][path]["post"]["responses"]["409"]), path
