"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from trapline.api.deps import DatabaseDep, StoreDep
from trapline.errors import TraplineError

router = APIRouter(tags=["health"])


@router.get("/livez")
def livez() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(db: DatabaseDep, store: StoreDep) -> JSONResponse:
    """The database and the blob store answer."""
    checks: dict[str, str] = {}
    for name, probe in (("database", db.ping), ("storage", store.check)):
        try:
            probe()
            checks[name] = "ok"
        except TraplineError as exc:
            checks[name] = exc.detail
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
        headers=None if ready else {"Retry-After": "5"},
    )
