"""Request validation every router shares: strict bodies, storable text, 422s in one shape.

- :class:`RequestBody` is the base of every JSON / form body: an unknown field is a 422
  (``extra="forbid"``), and no string may hold what PostgreSQL cannot store (a NUL character)
  or what is not Unicode text (a lone surrogate, which JSON's ``\\ud83d`` escape can carry).
- :func:`storable_params` (an app-wide dependency) applies the same rule to path and query
  parameters, before any handler queries the database with them.
- :func:`invalid` builds a 422 in FastAPI's own shape (``detail: [{loc, msg, type}]``), the one
  the OpenAPI schema documents, for checks a handler makes itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, field_validator

Loc = tuple[str | int, ...]


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as text (None when it can)."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (lone surrogate)"
    return None


def find_text_problem(value: Any) -> str | None:
    """The first :func:`text_problem` in ``value`` or in any string nested in it (keys too)."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, dict):
        items: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    elif isinstance(value, BaseModel):
        items = [getattr(value, name) for name in type(value).model_fields]
    else:
        return None
    for item in items:
        problem = find_text_problem(item)
        if problem:
            return problem
    return None


def invalid(loc: Loc, msg: str, kind: str = "value_error") -> RequestValidationError:
    """A 422 naming where (``("body", "id")``, ``("query", "region")``…) and what is wrong."""
    return RequestValidationError([{"loc": loc, "msg": msg, "type": kind}])


class RequestBody(BaseModel):
    """Base of request bodies: unknown fields are refused, text must be storable."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        problem = find_text_problem(value)
        if problem:
            raise ValueError(f"text {problem}")
        return value


def check_storable(value: Any, loc: Loc) -> None:
    """422 at ``loc`` when ``value`` holds text that cannot be stored."""
    problem = find_text_problem(value)
    if problem:
        raise invalid(loc, f"text {problem}")


def storable_params(request: Request) -> None:
    """422 for a path or query parameter holding a NUL character (``%00``). Invalid UTF-8 in a
    URL cannot reach here: the server decodes it with replacement characters."""
    for name, value in request.path_params.items():
        if isinstance(value, str):
            check_storable(value, ("path", name))
    for name, value in request.query_params.multi_items():
        check_storable(name, ("query", name))
        check_storable(value, ("query", name))
