"""What a request can reach of the server that answers it."""

from __future__ import annotations

from fastapi import Request

from trapline.platform import Platform


def platform_of(request: Request) -> Platform:
    """The platform the app was built over (``create_app`` puts it on ``app.state``)."""
    platform: Platform = request.app.state.platform
    return platform
