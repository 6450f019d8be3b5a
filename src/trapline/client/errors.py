"""What the client raises when the API refuses a request."""

from __future__ import annotations


class ApiError(Exception):
    """The API refused a request; ``detail`` says what was wrong and what to do."""

    def __init__(self, status: int, detail: str, code: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail
        self.code = code
