"""Fixtures shared by the whole suite: databases on both backends, the app, users with roles."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.databases import PostgresDatabases, SqliteDatabases, require_postgres
from tests.support.moto import moto_s3_server
from trapline.api.app import create_app
from trapline.db.engine import Database
from trapline.imaging.synthetic import light_trap_jpeg
from trapline.platform import Platform
from trapline.services import users
from trapline.settings import Settings

#: Suites that start servers, workers and NATS as processes, inject faults or time answers: run
#: by ``make test`` one after another on one pytest-xdist worker, while the other worker takes
#: the in-process tests (decision 015).
PROCESS_SUITES = ("e2e", "faults", "queue", "browser")
#: Suites that start a server but time nothing: each is a group of its own, which the worker
#: running the in-process tests takes beside them.
OWN_GROUP_SUITES = ("fuzz",)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "xdist_group(name): tests one xdist worker runs in turn")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        suite = item.path.parent.name
        if suite in PROCESS_SUITES:
            item.add_marker(pytest.mark.xdist_group("processes"))
        elif suite in OWN_GROUP_SUITES:
            item.add_marker(pytest.mark.xdist_group(suite))


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """URL of a moto S3 server shared by the session; fake AWS credentials are set meanwhile."""
    with moto_s3_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory: pytest.TempPathFactory) -> SqliteDatabases:
    return SqliteDatabases(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases()
    yield databases
    databases.close()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_databases: SqliteDatabases,
    postgres_databases: PostgresDatabases,
) -> Iterator[str]:
    """A fresh migrated database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield sqlite_databases.new(tmp_path)
        return
    require_postgres()
    url = postgres_databases.new()
    yield url
    postgres_databases.drop(url)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key",
        max_upload_bytes=5 * 1024 * 1024,
        max_request_bytes=20 * 1024 * 1024,
        _env_file=None,
    )


@pytest.fixture
def app_db(settings: Settings) -> Iterator[Database]:
    db = Database.from_url(settings.resolved_database_url)
    yield db
    db.dispose()


@pytest.fixture
def platform(settings: Settings, app_db: Database) -> Iterator[Platform]:
    """The platform the ``client`` app is built over, on the test's database."""
    built = Platform.from_settings(settings, db=app_db)
    yield built
    built.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as test_client:
        yield test_client


@dataclass(frozen=True)
class Account:
    """A user the tests act as."""

    id: int
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


@pytest.fixture
def make_account(app_db: Database) -> Callable[..., Account]:
    """Create a user with a token: ``make_account("ann", admin=True)``."""

    def make(name: str, *, admin: bool = False) -> Account:
        email = f"{name}@example.org"
        user = users.create_user(app_db, None, email, name.title(), is_admin=admin)
        return Account(user.id, email, users.create_token(app_db, user, "tests").secret)

    return make


@pytest.fixture
def admin(make_account: Callable[..., Account]) -> Account:
    return make_account("root", admin=True)


@pytest.fixture
def owner(make_account: Callable[..., Account]) -> Account:
    return make_account("olive")


@pytest.fixture
def project_id(client: TestClient, owner: Account) -> int:
    response = client.post("/api/v2/projects/", json={"name": "Moths"}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.fixture
def jpeg() -> Callable[..., bytes]:
    """Small generated light-trap JPEGs: ``jpeg(seed)``."""

    def make(seed: int = 0, **kwargs: object) -> bytes:
        kwargs.setdefault("width", 320)
        kwargs.setdefault("height", 240)
        return light_trap_jpeg(seed, **kwargs)  # type: ignore[arg-type]

    return make


def upload(
    client: TestClient, account: Account, project: int, *files: tuple[str, bytes], **form: str
) -> dict:
    """POST files to a project's images; returns the JSON body (asserting nothing)."""
    response = client.post(
        f"/api/v2/projects/{project}/images/",
        files=[
            ("files", (name, io.BytesIO(data), "application/octet-stream")) for name, data in files
        ],
        data=form,
        headers=account.headers,
    )
    return {"status": response.status_code, **response.json()}
