"""What the manifest of a loaded benchmark set says of it, read from the set itself: what each
project holds, and what later benchmarks open (the busiest night, the biggest deployment, a
common and a rare label among the measured project's current results)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dataset_scene import BINARY
from sqlalchemy import func, select, text

from trapline.db.current import current_analyses
from trapline.db.engine import Database
from trapline.db.tables import AnnotationRow

#: What is counted per project (each table has the project's id).
PER_PROJECT = ("images", "deployments", "events", "jobs", "analyses", "annotations", "reviews",
               "occurrences", "identifications")  # fmt: skip


def project_counts(db: Database, project_id: int) -> dict[str, int]:
    """Rows of each table of the project, and its stored feature vectors and their bytes."""
    counts = {}
    with db.read() as repos:
        one = repos.session.scalar
        for table in PER_PROJECT:
            sql = f"SELECT count(*) FROM {table} WHERE project_id = :p"  # noqa: S608
            counts[table] = int(one(text(sql), {"p": project_id}) or 0)
        vectors, size = repos.session.execute(
            text("SELECT count(features), coalesce(sum(length(features)), 0) FROM annotations"
                 " WHERE project_id = :p AND features IS NOT NULL"), {"p": project_id},
        ).one()  # fmt: skip
    return counts | {"feature vectors": int(vectors), "feature bytes": int(size)}


def taxa_count(db: Database) -> int:
    with db.read() as repos:
        return int(repos.session.scalar(text("SELECT count(*) FROM taxa")) or 0)


def busiest_night(db: Database, project_id: int) -> dict[str, Any]:
    """The project's night of the most photos: its deployment, the night (its evening's date),
    its event and its photos."""
    with db.read() as repos:
        event_id, deployment_id, starts_at, photos = repos.session.execute(
            text("SELECT id, deployment_id, starts_at, image_count FROM events"
                 " WHERE project_id = :p ORDER BY image_count DESC, id LIMIT 1"),
            {"p": project_id},
        ).one()  # fmt: skip
    starts = starts_at if isinstance(starts_at, datetime) else datetime.fromisoformat(starts_at)
    # A night runs noon to noon, local: its evening's date is that of its start less 12 hours.
    night = (starts - timedelta(hours=12)).date()
    return {"deployment_id": int(deployment_id), "night": night.isoformat(),
            "event_id": int(event_id), "images": int(photos)}  # fmt: skip


def biggest_deployment(db: Database, project_id: int) -> int:
    with db.read() as repos:
        return int(repos.session.execute(
            text("SELECT deployment_id FROM images WHERE project_id = :p GROUP BY deployment_id"
                 " ORDER BY count(*) DESC, deployment_id LIMIT 1"), {"p": project_id},
        ).scalar_one())  # fmt: skip


def labels(db: Database, project_id: int) -> tuple[str, str]:
    """A common and a rare species label among the project's current results: the commonest,
    and the first by name of those fewest boxes carry (the binary labels left out)."""
    a = AnnotationRow
    query = (
        select(a.label, func.count())
        .where(
            a.analysis_id.in_(current_analyses(project_id)),
            a.type == "classification",
            a.label.is_not(None),
            a.label.not_in(BINARY),
        )
        .group_by(a.label)
    )
    with db.read() as repos:
        found = [(str(label), int(n)) for label, n in repos.session.execute(query)]
    common = max(found, key=lambda item: (item[1], item[0]))[0]
    rare = min(found, key=lambda item: (item[1], item[0]))[0]
    return common, rare
