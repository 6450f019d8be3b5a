"""Fixtures of the API tests: the permission matrix's sites, one per backend for a whole module
(``tests.support.permissions``), and the job matrix's (``tests.support.permissions_jobs``),
whose cases name their backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.databases import BACKENDS, PostgresDatabases, SqliteDatabases, require_postgres
from tests.support.permissions import Site, Sites
from tests.support.permissions_jobs import JobSites


@pytest.fixture(scope="module")
def sites(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_databases: SqliteDatabases,
    postgres_databases: PostgresDatabases,
) -> Iterator[Sites]:
    made = Sites(tmp_path_factory, sqlite_databases, postgres_databases)
    yield made
    made.close()


@pytest.fixture(params=BACKENDS)
def site(request: pytest.FixtureRequest, sites: Sites) -> Site:
    if request.param == "postgres":
        require_postgres()
    return sites.get(request.param)


@pytest.fixture(scope="module")
def job_sites(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_databases: SqliteDatabases,
    postgres_databases: PostgresDatabases,
) -> Iterator[JobSites]:
    """The job matrix's sites: those of the permission matrix, each with a service account of
    the non-member's project too."""
    made = JobSites(tmp_path_factory, sqlite_databases, postgres_databases)
    yield made
    made.close()
