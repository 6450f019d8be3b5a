"""Scenes built once a module and database, for the tests that only read them (decision 077).

A scene of uploads, imports and tracking takes one to three seconds to build, and a module of
tests that each read it (a table asked with other parameters, a bad parameter refused) built it
again for every test: most of those modules' time. ``SharedScenes`` builds a scene on first use
in a database and data folder of its own, through the same helpers the tests use, and hands
every test of the module the same project. After each test it checks that the database is
row for row as the scene left it: a test that writes into a shared scene fails, naming the
tables it changed, so a test that writes keeps a scene of its own (``proto``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import pytest
from sqlalchemy import select

from tests.support.accounts import Account
from tests.support.databases import PostgresDatabases, SqliteDatabases, require_postgres
from tests.support.module_apps import open_module_app
from tests.support.photos import kept_jpeg
from tests.support.protocol_client import Protocol
from tests.support.web import CHEAP_HASH, Browser, signed_in
from trapline.db.engine import Database
from trapline.db.tables import Base
from trapline.domain.core.event_rules import ProjectKind
from trapline.platform import Platform
from trapline.services.core import users
from trapline.services.photos import projects

S = TypeVar("S")

#: Tables a read writes to by design: when a token or a session was last used.
TOUCHED_BY_READS = frozenset({"api_tokens", "sessions"})


def jpeg(seed: int = 0, **kwargs: object) -> bytes:
    """The ``jpeg`` fixture's photos."""
    kwargs.setdefault("width", 320)
    kwargs.setdefault("height", 240)
    return kept_jpeg(seed, **kwargs)  # type: ignore[arg-type]


@dataclass
class Shared(Generic[S]):
    """A shared scene: the owner's project it was built in, and what its builder returned."""

    proto: Protocol
    scene: S
    #: The rows of each table as the scene left them (a digest a table).
    built: dict[str, str] = field(default_factory=dict)

    #: The owner signed in to the web app, made on first use.
    signed_in: Browser | None = None

    @property
    def platform(self) -> Platform:
        return self.proto.platform

    def sign_out(self) -> None:
        if self.signed_in is not None:
            self.signed_in.client.__exit__(None, None, None)
            self.signed_in = None

    def browser(self) -> Browser:
        """The owner, signed in to the web app (one session for the module)."""
        if self.signed_in is None:
            self.signed_in = signed_in(self.platform, self.proto.account)
        return self.signed_in


def digests(db: Database) -> dict[str, str]:
    """A digest of each table's rows, in key order (tables reads write to left out)."""
    found: dict[str, str] = {}
    with db.read() as repos:
        for table in Base.metadata.sorted_tables:
            if table.name in TOUCHED_BY_READS:
                continue
            key = list(table.primary_key.columns) or list(table.columns)
            rows = repos.session.execute(select(table).order_by(*key))
            found[table.name] = hashlib.sha256(repr(rows.all()).encode()).hexdigest()
    return found


@dataclass
class SharedScenes(Generic[S]):
    """One scene a database, built on first use by ``build`` and kept for the whole module."""

    tmp_path_factory: pytest.TempPathFactory
    sqlite_databases: SqliteDatabases
    postgres_databases: PostgresDatabases
    build: Callable[[Protocol], S]
    made: dict[str, Shared[S]] = field(default_factory=dict)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def get(self, backend: str) -> Shared[S]:
        if backend == "postgres":
            require_postgres()
        if backend not in self.made:
            self.made[backend] = self._open(backend)
        return self.made[backend]

    def check_unchanged(self, backend: str) -> None:
        """Fails when the scene's rows are not those it was built with."""
        shared = self.made[backend]
        now = digests(shared.platform.db)
        changed = sorted(name for name, digest in now.items() if shared.built.get(name) != digest)
        assert not changed, (
            f"a test wrote into the shared scene (tables {', '.join(changed)}): give it a scene "
            "of its own (the proto fixture)"
        )

    def close(self) -> None:
        for cleanup in reversed(self.cleanups):
            cleanup()

    def _open(self, backend: str) -> Shared[S]:
        app = open_module_app(
            backend,
            "shared-scene",
            self.tmp_path_factory,
            self.sqlite_databases,
            self.postgres_databases,
            self.cleanups,
        )
        db, client, platform = app.db, app.client, app.platform
        user = users.create_user(db, None, "olive@example.org", "Olive", is_admin=False)
        owner = Account(user.id, user.email, users.create_token(db, user, "tests").secret)
        with db.write() as repos:  # the web tests' password, checked at its cheapest
            repos.core.users.set_password_hash(user.id, CHEAP_HASH)
        project = projects.create_project(
            db, user, "Moths", "", kind=ProjectKind.CAMERA_TRAP, welcome=platform.project_created
        )
        proto = Protocol(client, owner, project.id, jpeg)
        shared = Shared(proto, self.build(proto))
        shared.built = digests(db)
        self.cleanups.append(shared.sign_out)
        return shared


def shared_scenes(
    request: pytest.FixtureRequest, build: Callable[[Protocol], S]
) -> Iterator[SharedScenes[S]]:
    """The body of a module's ``scenes`` fixture: ``yield from shared_scenes(request, build)``."""
    made = SharedScenes(
        request.getfixturevalue("tmp_path_factory"),
        request.getfixturevalue("sqlite_databases"),
        request.getfixturevalue("postgres_databases"),
        build,
    )
    yield made
    made.close()
