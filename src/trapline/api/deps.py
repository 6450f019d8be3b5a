"""FastAPI dependencies, as named aliases routes declare."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool

from trapline.background.classifiers import RefitRunner
from trapline.background.detection_scorers import ScorerRunner
from trapline.background.exports import ExportRunner
from trapline.background.groupings import GroupingRunner
from trapline.background.jobs import JobStarter
from trapline.db.engine import Database
from trapline.domain.core.records import User
from trapline.errors import NotAuthenticated
from trapline.http.state import platform_of
from trapline.http.urls import with_base
from trapline.imaging.limits import DecodeLimits
from trapline.queue.base import TaskQueue
from trapline.services.core.access import require_person
from trapline.services.core.admission import ClaimGate
from trapline.services.pipelines.service_client import ServiceClient
from trapline.services.pipelines.workers import WorkerTracker
from trapline.services.processing.results import ResultStore
from trapline.services.processing.tasks import Dispatch
from trapline.services.processing.worker_access import WorkerAccess
from trapline.services.review.crop_features import Photos
from trapline.settings import Settings
from trapline.storage.base import BlobStore

#: Schemes accepted in the Authorization header (AMI clients send ``Token`` or ``Api-Key``).
AUTH_SCHEMES = ("token", "bearer", "api-key")


async def _settings(request: Request) -> Settings:
    return platform_of(request).settings


async def _database(request: Request) -> Database:
    return platform_of(request).db


async def _store(request: Request) -> BlobStore:
    return platform_of(request).store


async def _queue(request: Request) -> TaskQueue:
    return platform_of(request).queue


async def _tracker(request: Request) -> WorkerTracker:
    return platform_of(request).tracker


async def _starter(request: Request) -> JobStarter:
    return platform_of(request).starter


async def _secret(request: Request) -> bytes:
    return platform_of(request).secret


async def _service_client(request: Request) -> ServiceClient:
    return platform_of(request).service_client


async def _dispatch(request: Request) -> Dispatch:
    platform = platform_of(request)
    return Dispatch(
        queue=platform.queue,
        store=platform.store,
        secret=platform.secret,
        tracker=platform.tracker,
        access=platform.access,
        url_ttl=platform.settings.storage.signed_url_ttl,
        absolute=partial(with_base, platform.settings.http.public_base_url),
    )


# The accessors above only read app.state: async, so FastAPI calls them without a thread hop.
SettingsDep = Annotated[Settings, Depends(_settings)]
QueueDep = Annotated[TaskQueue, Depends(_queue)]
TrackerDep = Annotated[WorkerTracker, Depends(_tracker)]
StarterDep = Annotated[JobStarter, Depends(_starter)]
SecretDep = Annotated[bytes, Depends(_secret)]
DispatchDep = Annotated[Dispatch, Depends(_dispatch)]
DatabaseDep = Annotated[Database, Depends(_database)]
StoreDep = Annotated[BlobStore, Depends(_store)]
ServiceClientDep = Annotated[ServiceClient, Depends(_service_client)]


async def _access(request: Request) -> WorkerAccess:
    return platform_of(request).access


AccessDep = Annotated[WorkerAccess, Depends(_access)]


async def _photos(request: Request) -> Photos:
    platform = platform_of(request)
    return Photos(platform.store, platform.decode)


#: Where a refit on crops reads its boxes' photos (decision 074).
PhotosDep = Annotated[Photos, Depends(_photos)]


async def _claims(request: Request) -> ClaimGate:
    return platform_of(request).claims


ClaimsDep = Annotated[ClaimGate, Depends(_claims)]


async def _results(request: Request) -> ResultStore:
    return platform_of(request).results


ResultsDep = Annotated[ResultStore, Depends(_results)]


async def _exports(request: Request) -> ExportRunner:
    return platform_of(request).exports


ExportRunnerDep = Annotated[ExportRunner, Depends(_exports)]


async def _refits(request: Request) -> RefitRunner:
    return platform_of(request).refits


RefitRunnerDep = Annotated[RefitRunner, Depends(_refits)]


async def _scorers(request: Request) -> ScorerRunner:
    return platform_of(request).scorers


ScorerRunnerDep = Annotated[ScorerRunner, Depends(_scorers)]


async def _groupings(request: Request) -> GroupingRunner:
    return platform_of(request).groupings


GroupingRunnerDep = Annotated[GroupingRunner, Depends(_groupings)]


async def _decode(request: Request) -> DecodeLimits:
    return platform_of(request).decode


DecodeDep = Annotated[DecodeLimits, Depends(_decode)]


#: The Authorization header, declared as a security scheme so the OpenAPI document says
#: which operations need a token (the scheme word is checked below, not by FastAPI).
class _TokenHeader(HTTPBearer):
    """Declared as HTTP bearer, so the docs' "Authorize" takes the bare token and sends
    ``Bearer <token>``; hands over the whole header, since ``Token <key>`` is accepted too."""

    async def __call__(self, request: Request) -> str | None:  # type: ignore[override]
        return request.headers.get("Authorization")


_TOKEN = _TokenHeader(
    scheme_name="Token",
    bearerFormat="tl_…",
    description="Your API token. Send `Authorization: Token <token>` or `Bearer <token>`.",
    auto_error=False,
)


async def _current_account(
    access: AccessDep, header: Annotated[str | None, Security(_TOKEN)] = None
) -> User:
    scheme, _, secret = (header or "").strip().partition(" ")
    if scheme.lower() not in AUTH_SCHEMES or not secret.strip():
        raise NotAuthenticated(
            "authentication required: send the header 'Authorization: Token <your API token>'"
        )
    # A token seen moments ago is answered here; otherwise the database is read off the loop.
    remembered = access.remembered_user(secret.strip())
    if remembered is not None:
        return remembered
    user: User = await run_in_threadpool(access.user, secret.strip())
    return user


#: Any authenticated account, service accounts included: only for the worker protocol's
#: routes (listing jobs, claims, results, lease extension, pipeline registration) and the
#: caller's own identity and project list.
CurrentWorker = Annotated[User, Depends(_current_account)]


async def _current_person(account: CurrentWorker) -> User:
    return require_person(account)


#: An authenticated person: every route that is not the worker protocol. Service accounts
#: are refused here, before any object is looked up, so new routes are closed to them unless
#: they declare ``CurrentWorker``.
CurrentUser = Annotated[User, Depends(_current_person)]
