"""Errors as PostHog's API reports them: ``{"type", "code", "detail", "attr"}`` with a status.

``attr`` is the offending field with nested keys joined by ``__`` (``events__0__math``), built
from ``ValidationError.path``; null when the error is about the request as a whole. No response
ever carries a stack trace: unexpected exceptions become a generic 500 and are logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import UnsupportedError, ValidationError


class ApiError(Exception):
    """An HTTP error answer: status and PostHog's error envelope."""

    def __init__(self, status: int, type: str, code: str, detail: str, attr: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.type, self.code, self.detail, self.attr = status, type, code, detail, attr
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"type": self.type, "code": self.code, "detail": self.detail, "attr": self.attr}


def attr_of(path: Sequence[Any]) -> str | None:
    """PostHog's ``attr``: the path's keys joined with ``__``; None for the whole request."""
    return "__".join(str(p) for p in path) if path else None


def from_validation(exc: ValidationError, prefix: Sequence[Any] = ()) -> ApiError:
    """400 for bad (``invalid_input``) or unsupported (``unsupported``) input, located by its path."""
    code = "unsupported" if isinstance(exc, UnsupportedError) else "invalid_input"
    return ApiError(400, "validation_error", code, exc.message, attr_of((*prefix, *exc.path)))


def parse_error(message: str) -> ApiError:
    """400 for a body that is not JSON or not the expected shape (PostHog's parse error)."""
    return ApiError(400, "invalid_request", "parse_error", f"JSON parse error - {message}")


def not_found(detail: str = "Project not found.") -> ApiError:
    return ApiError(404, "invalid_request", "not_found", detail)


def method_not_allowed(method: str) -> ApiError:
    return ApiError(405, "invalid_request", "method_not_allowed", f'Method "{method}" not allowed.')


def not_authenticated() -> ApiError:
    return ApiError(401, "authentication_error", "not_authenticated", "Authentication credentials were not provided.",
                    headers={"WWW-Authenticate": "Bearer"})


def authentication_failed() -> ApiError:
    return ApiError(401, "authentication_error", "authentication_failed",
                    "The token in the Authorization header is invalid.", headers={"WWW-Authenticate": "Bearer"})


def permission_denied() -> ApiError:
    return ApiError(403, "authentication_error", "permission_denied", "You don't have access to the project.")


def too_large(limit: int) -> ApiError:
    return ApiError(413, "invalid_request", "request_too_large", f"The request body is larger than {limit} bytes.")


def timed_out(budget: float) -> ApiError:
    return ApiError(504, "server_error", "error",
                    f"Query has hit the max execution time before completing. (time budget: {budget:g} s)")


def server_error() -> ApiError:
    return ApiError(500, "server_error", "error", "A server error occurred.")
