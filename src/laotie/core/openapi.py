"""The API's error answers in `/openapi.json`: the real shape, and the codes each may send.

A route declares the codes it refuses with, `responses=errors(OrderError.NOT_FOUND, ...)`;
each code's status comes from its domain's table (`laotie.core.errors.status_table`). A
dependency declares its own codes once (`declare_errors`), so every route that depends on
it documents them. `install_openapi` adds the answers every operation may give (422 when
it takes input, 400 and 413 when it takes a body, 503 when the server is busy) and replaces
FastAPI's validation shape (`detail[]`) with the one the server sends.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from laotie.core.errors import CommonError, status_of

ERROR_SCHEMA = "ErrorOut"
_REF = f"#/components/schemas/{ERROR_SCHEMA}"
_CODES_KEY = "x-error-codes"
# In a parameter's schema: document the parameter as required though FastAPI takes it as
# optional, so that the handler refuses its absence with a code of its own.
DOCUMENTED_REQUIRED = "x-documented-required"
# FastAPI's own validation answer, which this server never sends.
_FASTAPI_SHAPES = ("HTTPValidationError", "ValidationError")
_DEPENDENCY_ERRORS: dict[Callable[..., Any], tuple[str, ...]] = {}


class FieldProblem(BaseModel):
    """What is wrong with one field of the request."""

    field: str = Field(description="Dotted path of the field, or `request`.")
    problem: str
    code: str = Field(
        description="`control_characters`, `blank`, or `invalid_input` for any other fault."
    )


class ErrorOut(BaseModel):
    """Every refusal: a stable code to act on and a message to show."""

    code: str = Field(description="Stable; see the codes listed with each answer.")
    message: str
    errors: list[FieldProblem] | None = Field(
        default=None, description="Sent with a 422: one entry per field at fault."
    )


def errors(*codes: StrEnum) -> dict[int | str, dict[str, Any]]:
    """Document the refusals a route may answer with, grouped by their status."""
    by_status: dict[int, list[str]] = defaultdict(list)
    for code in codes:
        if str(code) not in by_status[status_of(code)]:
            by_status[status_of(code)].append(str(code))
    return {status: _response(found) for status, found in sorted(by_status.items())}


def declare_errors(dependency: Callable[..., Any], *codes: StrEnum) -> None:
    """Say which codes a dependency may refuse with; its routes document them."""
    _DEPENDENCY_ERRORS[dependency] = tuple(str(code) for code in codes)


def install_openapi(app: FastAPI) -> None:
    """Make `/openapi.json` document every operation's error answers with the real shape."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _with_errors(app, build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _with_errors(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_SHAPES:
        components.pop(name, None)
    components[ERROR_SCHEMA] = ErrorOut.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    components.update(components[ERROR_SCHEMA].pop("$defs", {}))
    for route in _api_routes(app):
        if not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = schema["paths"][route.path_format].get(method.lower())
            if operation is not None:
                _document(operation, _dependency_codes(route))
                _mark_required(operation)
    return schema


def _document(operation: dict[str, Any], from_dependencies: Iterable[str]) -> None:
    """Merge the declared, the dependencies' and the common codes into the answers."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    codes = [*from_dependencies, CommonError.BUSY]
    if operation.get("parameters") or operation.get("requestBody"):
        codes += [CommonError.INVALID_INPUT, CommonError.CONTROL_CHARACTERS, CommonError.BLANK]
    if operation.get("requestBody"):
        codes += [CommonError.MALFORMED_BODY, CommonError.BODY_TOO_LARGE]
    by_status: dict[str, list[str]] = defaultdict(list)
    for status, answer in responses.items():
        by_status[status] += answer.get(_CODES_KEY, [])
    for code in codes:
        by_status[str(status_of(code))].append(str(code))
    for status, found in by_status.items():
        if found:
            responses[status] = _response(list(dict.fromkeys(found)))
    for answer in responses.values():
        answer.pop(_CODES_KEY, None)
    operation["responses"] = dict(sorted(responses.items()))


def _mark_required(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", ()):
        schema = parameter.get("schema", {})
        if schema.pop(DOCUMENTED_REQUIRED, False):
            parameter["required"] = True
            # FastAPI writes an optional parameter as anyOf [string, null]; a required
            # header is a string.
            for option in schema.pop("anyOf", ()):
                if option.get("type") == "string":
                    schema.update(option)


def _response(codes: list[str]) -> dict[str, Any]:
    listed = ", ".join(f"`{code}`" for code in codes)
    return {
        "description": f"Refused; `code` is one of {listed}.",
        "content": {
            "application/json": {
                "schema": {"allOf": [{"$ref": _REF}, {"properties": {"code": {"enum": codes}}}]}
            }
        },
        _CODES_KEY: codes,
    }


def _api_routes(app: FastAPI) -> Iterator[Any]:
    """Yield each API route as the schema sees it, with the prefix of its router."""
    try:
        # FastAPI 0.165 keeps included routers as such and resolves their routes lazily.
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI copies every included route into app.routes
        yield from (route for route in app.routes if isinstance(route, APIRoute))
        return
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def _dependency_codes(route: Any) -> list[str]:
    found: list[str] = []
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if dependant.call is not None:
            found += _DEPENDENCY_ERRORS.get(dependant.call, ())
        pending += dependant.dependencies
    return found
