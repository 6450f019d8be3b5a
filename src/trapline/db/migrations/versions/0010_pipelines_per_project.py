"""pipelines and algorithms belong to a project

Slugs and keys were site-wide, so one project could take another's names first (and with them
the descriptions and weights URLs the other's workers read) and learn from the 409 what others
had registered. Each pipeline and algorithm now has a project, unique by (project, slug or key,
version).

A pipeline shared by several projects becomes one row per project: the original stays with the
lowest project id, each other project gets a copy, and that project's jobs, analyses, pipeline
link and service links move to its copy. Algorithms are split the same way (a project's
pipelines use that project's algorithms, its annotations point at them). A project is one that
links the pipeline, or has jobs or analyses of it (or annotations of the algorithm). A row no
existing project uses keeps a null project, as a deleted project's rows do: pipelines and
algorithms are never deleted, and no lookup finds them.

Category maps stay shared, stored once per content, but the digest now covers every field (the
description and URI too): a project registering another's labels with other words gets a map
of its own.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: The tables whose rows now belong to a project, with the column that names a row.
OWNED = [("pipelines", "slug"), ("algorithms", "key")]
#: Columns copied from a pipeline or an algorithm to its copy in another project.
COPIED = {
    "pipelines": "slug, version, name, description, stages, created_at",
    "algorithms": (
        "key, version, name, task_type, version_name, description, uri, weights_sha256, "
        "category_map_id, created_at"
    ),
}
#: Rows that point at a pipeline or an algorithm and belong to a project: (table, column).
USERS = {
    "pipelines": [("project_pipelines", "pipeline_id"), ("jobs", "pipeline_id"),
                  ("analyses", "pipeline_id")],
    "algorithms": [("annotations", "algorithm_id")],
}  # fmt: skip


def upgrade() -> None:
    for table, name in OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("project_id", ID, nullable=True))
            batch_op.drop_constraint(f"uq_{table}_{name}_version", type_="unique")
            batch_op.create_unique_constraint(
                f"uq_{table}_project_id_{name}_version", ["project_id", name, "version"]
            )
            batch_op.create_foreign_key(
                f"fk_{table}_project_id_projects",
                "projects",
                ["project_id"],
                ["id"],
                ondelete="SET NULL",
            )
    bind = op.get_bind()
    _split(bind)
    _redigest(bind, _digest_of_everything)


def downgrade() -> None:
    bind = op.get_bind()
    _merge(bind)
    _redigest(bind, _digest_of_content)
    for table, name in reversed(OWNED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_project_id_projects", type_="foreignkey")
            batch_op.drop_constraint(f"uq_{table}_project_id_{name}_version", type_="unique")
            batch_op.drop_column("project_id")
            batch_op.create_unique_constraint(f"uq_{table}_{name}_version", [name, "version"])


def _rows(bind: Connection, sql: str, **params: Any) -> list[Any]:
    return list(bind.execute(sa.text(sql), params).all())


def _split(bind: Connection) -> None:
    existing = {p for (p,) in _rows(bind, "SELECT id FROM projects")}
    pipeline_ids = {p for (p,) in _rows(bind, "SELECT id FROM pipelines")}
    algorithm_ids = {a for (a,) in _rows(bind, "SELECT id FROM algorithms")}
    of_pipeline = _projects_of(bind, "pipelines", pipeline_ids, existing)
    uses = _rows(bind, "SELECT pipeline_id, algorithm_id FROM pipeline_algorithms")
    of_algorithm = _projects_of(bind, "algorithms", algorithm_ids, existing)
    for pipeline_id, algorithm_id in uses:
        of_algorithm[algorithm_id] |= of_pipeline[pipeline_id]
    algorithm_in = _give_each_project_a_row(bind, "algorithms", of_algorithm)
    pipeline_in = _give_each_project_a_row(bind, "pipelines", of_pipeline)

    # Each project's pipelines use that project's algorithms.
    for pipeline_id in {p for p, _ in uses if of_pipeline[p]}:
        bind.execute(
            sa.text("DELETE FROM pipeline_algorithms WHERE pipeline_id = :p"), {"p": pipeline_id}
        )
    links = {
        (pipeline_in[p, project], algorithm_in[a, project])
        for p, a in uses
        for project in of_pipeline[p]
    }
    _insert(bind, "pipeline_algorithms", ("pipeline_id", "algorithm_id"), links)

    # A service offers the copies of the projects it belongs to (a service may belong to
    # several projects); a link to a pipeline none of them uses stays as it was.
    service_projects: dict[int, set[int]] = defaultdict(set)
    for service_id, project_id in _rows(
        bind, "SELECT service_id, project_id FROM project_services"
    ):
        service_projects[service_id].add(project_id)
    for service_id, pipeline_id in _rows(
        bind, "SELECT service_id, pipeline_id FROM service_pipelines"
    ):
        shared = service_projects[service_id] & of_pipeline.get(pipeline_id, set())
        targets = {pipeline_in[pipeline_id, project] for project in shared}
        if not targets or pipeline_id in targets:
            targets.discard(pipeline_id)
        else:
            bind.execute(
                sa.text("DELETE FROM service_pipelines WHERE service_id = :s AND pipeline_id = :p"),
                {"s": service_id, "p": pipeline_id},
            )
        _insert(bind, "service_pipelines", ("service_id", "pipeline_id"),
                {(service_id, t) for t in targets})  # fmt: skip


def _projects_of(
    bind: Connection, table: str, ids: set[int], existing: set[int]
) -> dict[int, set[int]]:
    """The existing projects that use each row of ``table``: its links, jobs and results."""
    found: dict[int, set[int]] = {row_id: set() for row_id in ids}
    for user, column in USERS[table]:
        for row_id, project_id in _rows(
            bind,
            f"SELECT DISTINCT {column}, project_id FROM {user} "  # noqa: S608
            f"WHERE {column} IS NOT NULL",
        ):
            if row_id in found and project_id in existing:
                found[row_id].add(project_id)
    return found


def _give_each_project_a_row(
    bind: Connection, table: str, projects_of: dict[int, set[int]]
) -> dict[tuple[int, int], int]:
    """Give the row to its lowest project and a copy to each other; (old id, project) -> id.

    The projects' rows that pointed at the original are moved to their copies.
    """
    moves: list[tuple[int, int, int]] = []
    where: dict[tuple[int, int], int] = {}
    for row_id, projects in sorted(projects_of.items()):
        if not projects:
            continue
        first, *others = sorted(projects)
        bind.execute(
            sa.text(f"UPDATE {table} SET project_id = :p WHERE id = :id"),  # noqa: S608
            {"p": first, "id": row_id},
        )
        where[row_id, first] = row_id
        for project_id in others:
            bind.execute(
                sa.text(
                    f"INSERT INTO {table} (project_id, {COPIED[table]}) "  # noqa: S608
                    f"SELECT :p, {COPIED[table]} FROM {table} WHERE id = :id"
                ),
                {"p": project_id, "id": row_id},
            )
            copy = bind.execute(
                sa.text(f"SELECT max(id) FROM {table} WHERE project_id = :p"),  # noqa: S608
                {"p": project_id},
            ).scalar_one()
            where[row_id, project_id] = copy
            moves.append((row_id, project_id, copy))
    if moves:
        bind.execute(sa.text("CREATE TEMPORARY TABLE moved (old_id BIGINT, project_id BIGINT, "
                             "new_id BIGINT)"))  # fmt: skip
        _insert(bind, "moved", ("old_id", "project_id", "new_id"), moves)
        for user, column in USERS[table]:
            match = f"m.old_id = {user}.{column} AND m.project_id = {user}.project_id"
            bind.execute(
                sa.text(
                    f"UPDATE {user} SET {column} = "  # noqa: S608
                    f"(SELECT m.new_id FROM moved m WHERE {match}) "
                    f"WHERE EXISTS (SELECT 1 FROM moved m WHERE {match})"
                )
            )
        bind.execute(sa.text("DROP TABLE moved"))
    return where


def _insert(
    bind: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple[int, ...]]
) -> None:
    values = [dict(zip(columns, row, strict=True)) for row in sorted(rows)]
    if values:
        names = ", ".join(columns)
        marks = ", ".join(f":{c}" for c in columns)
        bind.execute(sa.text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), values)  # noqa: S608


def _merge(bind: Connection) -> None:
    """Undo the split: rows named alike become the oldest of them (later ones' words are lost)."""
    for table, name in OWNED:
        into: dict[int, int] = {}
        oldest: dict[tuple[str, int], int] = {}
        for row_id, row_name, version in _rows(
            bind,
            f"SELECT id, {name}, version FROM {table} ORDER BY id",  # noqa: S608
        ):
            first = oldest.setdefault((row_name, version), row_id)
            if first != row_id:
                into[row_id] = first
        if table == "pipelines":  # a merged pipeline has the oldest's algorithms
            for row_id in into:
                bind.execute(
                    sa.text("DELETE FROM pipeline_algorithms WHERE pipeline_id = :id"),
                    {"id": row_id},
                )
            _merge_links(bind, "service_pipelines", "pipeline_id", "service_id", into)
        else:
            _merge_links(bind, "pipeline_algorithms", "algorithm_id", "pipeline_id", into)
        # A project has one row of each name and version, so its rows move without clashes.
        for user, column in USERS[table]:
            for row_id, first in into.items():
                bind.execute(
                    sa.text(f"UPDATE {user} SET {column} = :first WHERE {column} = :id"),  # noqa: S608
                    {"first": first, "id": row_id},
                )
        for row_id in into:
            bind.execute(sa.text(f"DELETE FROM {table} WHERE id = :id"), {"id": row_id})  # noqa: S608


def _merge_links(
    bind: Connection, link: str, column: str, other: str, into: dict[int, int]
) -> None:
    """Point a link table's rows at the rows merged into, without doubling any."""
    had = set(_rows(bind, f"SELECT {column}, {other} FROM {link}"))  # noqa: S608
    wanted = {(into.get(a, a), b) for a, b in had}
    for row_id in into:
        bind.execute(sa.text(f"DELETE FROM {link} WHERE {column} = :id"), {"id": row_id})  # noqa: S608
    _insert(bind, link, (column, other), wanted - had)


def _digest_of_everything(row: Any) -> str:
    return _sha256([row.labels, row.data, row.version, row.description, row.uri])


def _digest_of_content(row: Any) -> str:
    return _sha256([row.labels, row.data, row.version])


def _sha256(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _redigest(bind: Connection, digest_of: Any) -> None:
    """Recompute every category map's digest; maps that then coincide become the oldest."""
    maps = sa.table(
        "category_maps",
        sa.column("id", ID),
        sa.column("digest", sa.String),
        sa.column("labels", sa.JSON),
        sa.column("data", sa.JSON),
        sa.column("version", sa.String),
        sa.column("description", sa.Text),
        sa.column("uri", sa.String),
    )
    rows = bind.execute(sa.select(maps).order_by(maps.c.id)).all()
    first: dict[str, int] = {}
    for row in rows:
        digest = digest_of(row)
        kept = first.setdefault(digest, row.id)
        if kept != row.id:
            bind.execute(
                sa.text(
                    "UPDATE algorithms SET category_map_id = :kept WHERE category_map_id = :id"
                ),
                {"kept": kept, "id": row.id},
            )
            bind.execute(sa.delete(maps).where(maps.c.id == row.id))
    # Two steps, so that no new digest meets an old one still in place.
    for row in rows:
        if first.get(digest_of(row)) == row.id:
            bind.execute(sa.update(maps).where(maps.c.id == row.id).values(digest=f"~{row.id}"))
    for row in rows:
        digest = digest_of(row)
        if first[digest] == row.id:
            bind.execute(sa.update(maps).where(maps.c.id == row.id).values(digest=digest))
