"""An app on a database and data folder of its own, kept for a whole module: the permission
matrices' sites (``permissions.py``) and the scenes tests share (``shared_scenes.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.support.app_client import AppClient
from tests.support.databases import PostgresDatabases, SqliteDatabases
from tests.support.settings import settings_for_tests
from trapline.app import create_app
from trapline.db.engine import Database
from trapline.platform import Platform


@dataclass
class ModuleApp:
    """The database, platform and in-process client of one module's app."""

    db: Database
    platform: Platform
    client: AppClient


def open_module_app(
    backend: str,
    name: str,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_databases: SqliteDatabases,
    postgres_databases: PostgresDatabases,
    cleanups: list[Callable[[], None]],
    **settings: object,
) -> ModuleApp:
    """A fresh migrated database of ``backend`` and an app over it, with the tests' settings
    (background duties off: a test calls the background work it needs) and ``settings`` on
    top; what undoes them is appended to ``cleanups``, to be called in reverse."""
    folder = tmp_path_factory.mktemp(f"{name}-{backend}")
    if backend == "sqlite":
        url = sqlite_databases.new(folder)
    else:
        url = postgres_databases.new()
        cleanups.append(lambda: postgres_databases.drop(url))
    made = settings_for_tests(folder / "data", url, **settings)
    db = Database.from_url(made.db.resolved_url(made.server.data_dir))
    cleanups.append(db.dispose)
    platform = Platform.from_settings(made, db=db)
    cleanups.append(platform.close)
    client = AppClient(create_app(platform))
    client.__enter__()
    cleanups.append(lambda: client.__exit__(None, None, None))
    return ModuleApp(db, platform, client)
