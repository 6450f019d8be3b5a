"""Pull sources: create, read, change and delete them; ask for a run; read their runs.

Managers manage a project's sources, every member sees them. A source of a project the caller
is not in answers exactly as a missing one. Credentials are sealed (``services/core/sealed.py``)
before they are stored and never handed out: reads say only which are set. When and where a run
happens is ``background/sources.py``; what it does, ``services/sources/source_ingest.py``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cronsim import CronSim, CronSimError

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.types import utcnow
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.sources.sources import ItemStatus, PullSource, SourceItem, SourceRun
from trapline.errors import InvalidInput
from trapline.outbound import (
    ALLOW_SETTING,
    IPAddress,
    OutboundBlocked,
    OutboundPolicy,
    blocked_reason,
    check_form,
)
from trapline.services.core.access import project_for, require
from trapline.services.core.sealed import Sealer
from trapline.sources import Kind, kind_of
from trapline.sources.base import DEFAULT_INCLUDE, MAX_DEPTH

#: The schedule of a source that names none: hourly, at minute 0.
DEFAULT_SCHEDULE = "0 * * * *"
#: Files one run takes at most, unless the source says otherwise.
DEFAULT_MAX_FILES = 1000
#: Most files a source may ask one run to take (a run's new images may become one job).
MAX_FILES = 10_000
#: Most globs in a source's include or exclude list.
MAX_GLOBS = 50


@dataclass(frozen=True)
class SourceRules:
    """What the server allows sources: the outbound guard and the folders ``local`` may read."""

    policy: OutboundPolicy
    local_roots: tuple[Path, ...]
    sealer: Sealer


def create_source(
    db: Database, rules: SourceRules, caller: User, project_id: int, **values: Any
) -> PullSource:
    """Add a pull source to a project (managers)."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.MANAGER)
    values.setdefault("include", list(DEFAULT_INCLUDE))
    values.setdefault("exclude", [])
    values.setdefault("depth", 0)
    values.setdefault("schedule", DEFAULT_SCHEDULE)
    values.setdefault("max_files", DEFAULT_MAX_FILES)
    values.setdefault("enabled", True)
    credentials = values.pop("credentials", None) or {}
    columns = _checked(rules, values, credentials, now=utcnow(), admin=caller.is_admin)
    with db.write() as repos:
        project_for(repos, caller, project_id, Role.MANAGER)
        _check_links(repos, project_id, columns)
        now = utcnow()
        return repos.sources.sources.create(
            project_id=project_id, created_by=caller.id, created_at=now, updated_at=now, **columns
        )


def list_sources(
    db: Database, caller: User, project_id: int, *, limit: int, offset: int
) -> tuple[int, list[PullSource]]:
    """A project's pull sources (members see them)."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.sources.sources.page(project_id, limit=limit, offset=offset)


def get_source(
    db: Database, caller: User, source_id: int, needed: Role = Role.VIEWER
) -> PullSource:
    """A source the caller may see."""
    with db.read() as repos:
        return _source_for(repos, caller, source_id, needed)


def update_source(
    db: Database, rules: SourceRules, caller: User, source_id: int, **changes: Any
) -> PullSource:
    """Change a source (managers); credentials given replace all the old ones."""
    current = get_source(db, caller, source_id, Role.MANAGER)
    merged = {
        "name": current.name,
        "kind": current.kind,
        "url": current.url,
        "endpoint_url": current.endpoint_url,
        "deployment_id": current.deployment_id,
        "include": list(current.include),
        "exclude": list(current.exclude),
        "depth": current.depth,
        "schedule": current.schedule,
        "max_files": current.max_files,
        "pipeline": current.pipeline,
        "enabled": current.enabled,
        **{k: v for k, v in changes.items() if k != "credentials"},
    }
    if "credentials" in changes:
        credentials = changes["credentials"] or {}
    elif current.sealed_credentials:
        if _origin(merged) != _origin(
            {"kind": current.kind, "url": current.url, "endpoint_url": current.endpoint_url}
        ):
            raise InvalidInput(
                "give the credentials again (or clear them): the source now points at another "
                "host, and stored credentials are only ever sent to the one they were given for",
                field="credentials",
            )
        credentials = rules.sealer.open(current.sealed_credentials)
    else:
        credentials = {}
    columns = _checked(rules, merged, credentials, now=utcnow(), admin=caller.is_admin)
    if "schedule" not in changes and "enabled" not in changes:
        columns["next_run_at"] = current.next_run_at  # the schedule stays where it was
    with db.write() as repos:
        _source_for(repos, caller, source_id, Role.MANAGER)
        _check_links(repos, current.project_id, columns)
        updated = repos.sources.sources.update(source_id, updated_at=utcnow(), **columns)
        if _place(merged) != _place(
            {"kind": current.kind, "url": current.url, "endpoint_url": current.endpoint_url}
        ):
            # Files are remembered by their path below the source's URL: elsewhere, the same
            # path and version may be another photo. Those stored already are recognised by
            # their bytes as duplicates.
            repos.sources.sources.forget_items(source_id)
    assert updated is not None
    return updated


def _place(fields: dict[str, Any]) -> tuple[str, str, str]:
    """Where a source's files are: its kind, URL and endpoint."""
    return str(fields["kind"]), str(fields["url"]), str(fields["endpoint_url"] or "")


def _origin(fields: dict[str, Any]) -> tuple[object, ...]:
    """Where a source's requests go: kind, and scheme, host (an S3 bucket) and port of its URL
    and of its endpoint, and an S3 source's region (it names AWS's host, and what requests
    are signed for). Stored credentials follow none of these changing."""
    where: list[object] = [str(fields["kind"])]
    for url in (fields["url"], fields["endpoint_url"] or ""):
        try:
            parts = urlsplit(url)
            where += [parts.scheme.lower(), (parts.hostname or "").lower(), parts.port]
        except ValueError:  # malformed (refused by the checks after): compared as written
            where += [url]
    if where[0] == "s3":
        from trapline.sources.s3 import bucket_of

        where.append(bucket_of(fields["url"])[2])  # InvalidInput names what is wrong
    return tuple(where)


def delete_source(db: Database, caller: User, source_id: int) -> None:
    """Remove a source with its runs and what it has seen (managers); its images stay."""
    with db.write() as repos:
        _source_for(repos, caller, source_id, Role.MANAGER)
        repos.sources.sources.delete(source_id)


def request_run(db: Database, caller: User, source_id: int) -> SourceRun:
    """Ask for a run now (managers); a run already waiting or going is answered instead."""
    with db.write() as repos:
        _source_for(repos, caller, source_id, Role.MANAGER)
        waiting = repos.sources.sources.open_run(source_id)
        if waiting is not None:
            return waiting
        return repos.sources.sources.create_run(source_id, "manual", utcnow())


def list_runs(
    db: Database, caller: User, source_id: int, *, limit: int, offset: int
) -> tuple[int, list[SourceRun]]:
    """A source's runs, newest first."""
    with db.read() as repos:
        _source_for(repos, caller, source_id, Role.VIEWER)
        return repos.sources.sources.runs_page(source_id, limit=limit, offset=offset)


def last_runs(
    db: Database, caller: User, project_id: int, sources: Sequence[PullSource]
) -> dict[int, SourceRun]:
    """The newest run of each of these sources of a project, by source id (those that ran)."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.sources.sources.last_runs(s.id for s in sources if s.project_id == project_id)


def get_run(db: Database, caller: User, source_id: int, run_id: int) -> SourceRun:
    """One run of a source."""
    with db.read() as repos:
        _source_for(repos, caller, source_id, Role.VIEWER)
        run = repos.sources.sources.get_run(run_id)
        return require(run if run and run.source_id == source_id else None, "run", run_id)


def run_failures(
    db: Database, caller: User, source_id: int, run_id: int, *, limit: int, offset: int
) -> tuple[int, list[SourceItem]]:
    """The files a run could not take, with their errors."""
    get_run(db, caller, source_id, run_id)
    with db.read() as repos:
        return repos.sources.sources.run_items(
            run_id, ItemStatus.FAILED, limit=limit, offset=offset
        )


def next_run(schedule: str, after: datetime) -> datetime:
    """When a cron schedule next asks for a run after ``after`` (UTC)."""
    return next(iter(CronSim(schedule, after)))


def _source_for(repos: Repos, caller: User, source_id: int, needed: Role) -> PullSource:
    source = require(repos.sources.sources.get(source_id), "source", source_id)
    project_for(repos, caller, source.project_id, needed, asked=("source", source_id))
    return source


def _check_links(repos: Repos, project_id: int, columns: Mapping[str, Any]) -> None:
    deployment_id = columns.get("deployment_id")
    if deployment_id is not None:
        deployment = repos.core.deployments.get(deployment_id)
        if deployment is None or deployment.project_id != project_id:
            raise InvalidInput(
                f"deployment {deployment_id} is not in project {project_id}",
                field="deployment_id",
            )
    slug = columns.get("pipeline")
    if slug is not None and repos.pipelines.pipelines.resolve(project_id, slug) is None:
        raise InvalidInput(
            f"pipeline {slug!r} is not registered and enabled in project {project_id}; see "
            f"GET /api/v2/projects/{project_id}/pipelines/",
            field="pipeline",
        )


def _checked(
    rules: SourceRules,
    values: dict[str, Any],
    credentials: Mapping[str, str],
    *,
    now: datetime,
    admin: bool,
) -> dict[str, Any]:
    """The columns of a source after every rule is checked (InvalidInput says which failed)."""
    kind = kind_of(values["kind"])
    url = values["url"]
    try:
        kind.check_url(url)
    except ValueError as exc:  # urlsplit's own complaints: a bad port, a broken IPv6 literal
        raise InvalidInput(f"url {url!r} is malformed ({exc}); e.g. {kind.example}") from None
    endpoint = values.get("endpoint_url")
    if endpoint is not None and kind.name != "s3":
        raise InvalidInput(
            "endpoint_url is for s3 sources only (MinIO and the like)", field="endpoint_url"
        )
    _check_credentials(kind, credentials)
    _check_reachable(rules, kind, url, endpoint, admin=admin)
    for field in ("include", "exclude"):
        _check_globs(field, values[field])
    if not 0 <= values["depth"] <= MAX_DEPTH:
        raise InvalidInput(
            f"depth must be from 0 to {MAX_DEPTH} (got {values['depth']})", field="depth"
        )
    if not 1 <= values["max_files"] <= MAX_FILES:
        raise InvalidInput(
            f"max_files must be from 1 to {MAX_FILES} (got {values['max_files']})",
            field="max_files",
        )
    schedule = " ".join(str(values["schedule"]).split())
    try:
        if len(schedule.split()) != 5:
            raise ValueError("it needs five fields: minute hour day month weekday")
        next_at = next_run(schedule, now)
    except (CronSimError, StopIteration, ValueError) as exc:
        raise InvalidInput(
            f"schedule must be a cron expression of five fields, such as '0 * * * *' (hourly) "
            f"or '*/15 * * * *' (got {values['schedule']!r}: {exc})",
            field="schedule",
        ) from None
    sealed = rules.sealer.seal(credentials) if credentials else None
    return {
        **{k: values[k] for k in ("name", "kind", "url", "enabled")},
        "deployment_id": values.get("deployment_id"),
        "pipeline": values.get("pipeline"),
        "endpoint_url": endpoint,
        "include": list(values["include"]),
        "exclude": list(values["exclude"]),
        "depth": values["depth"],
        "max_files": values["max_files"],
        "schedule": schedule,
        "credentials": sealed,
        "credential_names": sorted(credentials),
        "next_run_at": next_at,
    }


def _check_credentials(kind: Kind, credentials: Mapping[str, str]) -> None:
    names = set(credentials)
    unknown = names - kind.credentials
    if unknown:
        takes = ", ".join(sorted(kind.credentials)) or "none"
        got = ", ".join(sorted(unknown))
        raise InvalidInput(
            f"{kind.name} sources take these credentials: {takes} (got {got})",
            field="credentials",
        )
    if not any(needed <= names for needed in kind.required):
        needed = " and ".join(sorted(kind.required[0]))
        raise InvalidInput(f"{kind.name} sources need credentials: {needed}", field="credentials")
    if kind.name == "http_directory":
        if "authorization" in names and names & {"username", "password"}:
            raise InvalidInput(
                "give either username and password (HTTP Basic) or an authorization header "
                "value, not both",
                field="credentials",
            )
        if len(names & {"username", "password"}) == 1:
            raise InvalidInput("HTTP Basic needs both username and password", field="credentials")


def _check_globs(field: str, globs: Sequence[str]) -> None:
    if len(globs) > MAX_GLOBS:
        raise InvalidInput(
            f"{field} holds at most {MAX_GLOBS} patterns (got {len(globs)})", field=field
        )
    for glob in globs:
        if not glob or len(glob) > 200:
            raise InvalidInput(
                f"each pattern in {field} is 1 to 200 characters (got {glob!r})", field=field
            )


def _check_reachable(
    rules: SourceRules, kind: Kind, url: str, endpoint: str | None, *, admin: bool
) -> None:
    """The guard's verdict on where the source is, before anything is stored."""
    if kind.name == "local":
        from trapline.sources.local import allowed_folder

        allowed_folder(url, rules.local_roots)
        return
    if kind.name == "ftp":
        from trapline.sources.ftp import server_of

        _, host, port, _ = server_of(url)
    elif kind.name == "http_directory" or (kind.name == "s3" and endpoint is not None):
        about, address = ("endpoint_url", endpoint) if endpoint is not None else ("url", url)
        try:
            called = check_form(address)
        except InvalidInput as exc:
            exc.field = exc.field or about
            raise
        host, port = called.host, called.port or (443 if called.scheme == "https" else 80)
    else:
        return  # AWS's own S3 endpoints
    try:
        rules.policy.check_host(host, port)
    except (OutboundBlocked, OSError):
        # An unresolvable name gets the same words as one resolving inside (security.md).
        field = "endpoint_url" if kind.name == "s3" else "url"
        raise OutboundBlocked(source_refusal(host, admin=admin), field=field) from None


def source_refusal(host: str, *, admin: bool) -> str:
    """Why a source at ``host`` is refused, naming the setting that allows it: pull sources
    are checked for every account, admins' included, so the push services' words (an admin's
    service may be anywhere) would mislead here."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    reason = blocked_reason(literal) if literal is not None else None
    if literal is not None and reason is not None:
        shown = f"[{host}]" if literal.version == 6 else host
        what, example = f"is {reason}", str(ipaddress.ip_network(literal))
    else:  # a name: neither its addresses nor whether it resolves are said
        shown, what, example = host, "resolves to no public address", "10.0.0.0/8"
    who = (
        "set it in the server's environment and restart the server"
        if admin
        else "an admin of the server can set it"
    )
    return (
        f"the server does not call {shown}: it {what}. Pull sources, an admin's too, reach "
        f"public addresses only unless {ALLOW_SETTING} lists the network (comma-separated "
        f"CIDRs, such as {example}); {who}"
    )
