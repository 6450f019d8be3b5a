"""Fixtures shared by the whole suite: databases on both backends, the app, users with roles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import ImageFile

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.databases import (
    BACKENDS,
    PostgresDatabases,
    SqliteDatabases,
    require_postgres,
    split_backend,
)
from tests.support.moto import moto_s3_server
from tests.support.photos import kept_jpeg
from tests.support.settings import make_settings
from trapline.app import create_app
from trapline.clock import Clock, FakeClock, SystemClock
from trapline.db.engine import Database
from trapline.platform import Platform
from trapline.services.core import users
from trapline.settings import Settings

#: Fixtures every folder shares, registered here instead of imported by the tests.
pytest_plugins = ("tests.support.fixtures",)


@pytest.fixture(autouse=True)
def _truncated_images_refused() -> None:
    """MegaDetector's visualisation module, which some tests read with, sets Pillow's
    LOAD_TRUNCATED_IMAGES on import; trapline never does, so every test starts without it."""
    ImageFile.LOAD_TRUNCATED_IMAGES = False


#: Suites that start servers, workers and NATS as processes, inject faults or fuzz a server:
#: each of their modules is a group that one pytest-xdist worker runs in turn (its module-wide
#: servers start once), and they run first, spread over the workers, while the in-process
#: tests fill in around them (decisions 015, 032 and 044).
PROCESS_SUITES = ("e2e", "faults", "queue", "browser", "fuzz")
#: Process suites whose modules share their servers (fixtures of the package's scope): the
#: whole suite is one group, so that one worker starts them once.
SHARED_SUITES = ("browser",)


#: Which database backends a run tests on (``--db``): the application tests run on the
#: backends named here; the suites in BOTH_BACKENDS run on both whatever is chosen. ``split``
#: (``make test``) runs each application test on one of the two, chosen by its name, so that
#: half run on each (decision 054).
DB_CHOICES = {
    "sqlite": ("sqlite",),
    "postgres": ("postgres",),
    "all": ("sqlite", "postgres"),
    "split": ("sqlite", "postgres"),
}
#: The SQL layer and the tenant matrix: what differs between the two databases is tested on both
#: even in a quick SQLite run (the queue suite has its own backends, sql on each and NATS).
BOTH_BACKENDS = ("tests/integration/db/", "tests/app/api/test_tenants.py")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=sorted(DB_CHOICES),
        default="sqlite",
        help="database the application tests run on: sqlite (default, quick), postgres, all"
        " (each test on both: `make test-both`), or split (each test on one of the two, chosen"
        " by its name: `make test` and CI); tests/integration/db and the tenant matrix always"
        " run on both",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "xdist_group(name): tests one xdist worker runs in turn")
    config.addinivalue_line("markers", "duties: the app's background duties run during the test")
    config.addinivalue_line("markers", "settings(**fields): settings the test's app is made with")
    config.addinivalue_line(
        "markers", "backend(name): the test is about this database and runs on it alone"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # First: pytest-xdist's own hook, which runs after this one only when this one is marked so,
    # turns each test's xdist_group mark into the ``@group`` suffix its scheduler groups by.
    choice = config.getoption("--db")
    kept, dropped = [], []
    for item in items:
        (kept if _runs(item, choice) else dropped).append(item)
        suite = item.path.parent.name
        if suite in SHARED_SUITES:
            item.add_marker(pytest.mark.xdist_group(suite))
        elif suite in PROCESS_SUITES:
            item.add_marker(pytest.mark.xdist_group(f"{suite}/{item.path.stem}"))
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    # The long modules (and those grouped on one worker for a costly module fixture) first,
    # so that no worker ends on one alone.
    items[:] = sorted(kept, key=lambda item: item.get_closest_marker("xdist_group") is None)


def _runs(item: pytest.Item, choice: str) -> bool:
    """Whether the run ``--db choice`` keeps ``item``."""
    backend = backend_of(item)
    if backend is None:
        return True
    only = item.get_closest_marker("backend")
    if only is not None:
        return backend == only.args[0] and (backend in DB_CHOICES[choice] or _on_both(item))
    if _on_both(item):
        return True
    if choice == "split":
        return backend == split_backend(item.nodeid)
    return backend in DB_CHOICES[choice]


def backend_of(item: pytest.Item) -> str | None:
    """The database backend a test is parametrized with (through BACKENDS), if any."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return next((value for value in params.values() if value in ("sqlite", "postgres")), None)


def _on_both(item: pytest.Item) -> bool:
    path = item.path.as_posix()
    return any(f"/{place}" in path or path.endswith(f"/{place}") for place in BOTH_BACKENDS)


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
    """An empty migrated database, on SQLite and on PostgreSQL (as ``--db`` chooses).

    SQLite: a copy of the template file. PostgreSQL: this test process's shared database,
    emptied before the test (decision 032)."""
    if request.param == "sqlite":
        yield sqlite_databases.new(tmp_path)
        return
    require_postgres()
    yield postgres_databases.emptied()


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    return make_settings(request, tmp_path, database_url)


@pytest.fixture
def app_db(settings: Settings) -> Iterator[Database]:
    db = Database.from_url(settings.db.resolved_url(settings.server.data_dir))
    yield db
    db.dispose()


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock the test moves itself; a test that asks for it gets a ``platform`` going by it.
    It starts at the real time, so that rows stamped by the system clock stay in its past."""
    return FakeClock(SystemClock().now())


@pytest.fixture
def platform_clock(request: pytest.FixtureRequest) -> Clock:
    """The clock the ``platform`` goes by: the system's, or ``fake_clock`` when the test asks
    for that (leases, retries, schedules and expiries judged without sleeping)."""
    if "fake_clock" in request.fixturenames:
        return request.getfixturevalue("fake_clock")  # type: ignore[no-any-return]
    return SystemClock()


@pytest.fixture
def platform(settings: Settings, app_db: Database, platform_clock: Clock) -> Iterator[Platform]:
    """The platform the ``client`` app is built over, on the test's database."""
    built = Platform.from_settings(settings, db=app_db, clock=platform_clock)
    yield built
    built.close()


@pytest.fixture
def client(platform: Platform) -> Iterator[AppClient]:
    with AppClient(create_app(platform)) as test_client:
        yield test_client


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
def project_id(client: AppClient, owner: Account) -> int:
    """The owner's project, grouping photos into 60 s sequences (a camera-trap project: the
    tests' bursts and frames are seconds apart)."""
    response = client.post(
        "/api/v2/projects/", json={"name": "Moths", "kind": "camera_trap"}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.fixture
def jpeg() -> Callable[..., bytes]:
    """Small generated light-trap JPEGs: ``jpeg(seed)``."""

    def make(seed: int = 0, **kwargs: object) -> bytes:
        kwargs.setdefault("width", 320)
        kwargs.setdefault("height", 240)
        return kept_jpeg(seed, **kwargs)  # type: ignore[arg-type]

    return make
