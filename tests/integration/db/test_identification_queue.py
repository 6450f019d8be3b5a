"""The identification queue read in pieces along indexes gives, page for page, what one sort
of every occurrence that needs a look gives: people disagreeing first, then no taxon or one
above species rank, then the least sure (no score as 0), then by id."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Column, case, func, select
from sqlalchemy.sql.visitors import iterate

from tests.support.statements import plan_of
from trapline.db.engine import Database
from trapline.db.repositories.ecology.counts import untallied
from trapline.db.repositories.review.identification_queue import people_first
from trapline.db.tables import EventRow, OccurrenceRow, TaxaListRow, TaxonRow
from trapline.domain.ecology.species import Scope
from trapline.domain.taxa.taxa import Rank

START = datetime(2024, 6, 1, 21, 0)


def _scene(db: Database, seed: int, precise_share: float) -> Scope:
    """A project whose pipeline ``p`` has 300 occurrences over a few taxa (a species-rich
    share ``precise_share``; the rest a genus or no taxon), some without a score, some
    reviewed by a person, identified, or disputed; and occurrences of another pipeline."""
    rng = random.Random(seed)
    with db.write() as repos:
        owner = repos.core.users.create(f"o{seed}@example.org", "Owner")
        project = repos.core.projects.create("Queue", "", owner.id)
        deployment = repos.core.deployments.create(project.id, name="Trap")
        for n in range(3):
            repos.photos.images.insert(
                project_id=project.id, deployment_id=deployment.id, storage_key=f"k{n}",
                filename=f"{n}.jpg", sha256=f"{seed:032d}{n:032d}", size_bytes=1, width=1,
                height=1, content_type="image/jpeg", captured_at=START + timedelta(hours=n * 30),
                captured_offset_minutes=0,
            )  # fmt: skip
        repos.ecology.events.regroup(deployment.id)
        events = [int(e) for e in repos.session.scalars(
            select(EventRow.id).where(EventRow.deployment_id == deployment.id))]  # fmt: skip
        assert len(events) == 3
        taxa_list = TaxaListRow(name="Moths", owner_project_id=project.id)
        repos.session.add(taxa_list)
        repos.session.flush()
        ranks = [
            (Rank.GENUS, "Ardea"),
            (Rank.SPECIES, "Ardea alba"),
            (Rank.SPECIES, "Ardea cinerea"),
            (Rank.SUBSPECIES, "Ardea alba modesta"),
        ]
        taxa = []
        for rank, name in ranks:
            row = TaxonRow(list_id=taxa_list.id, scientific_name=name, name_key=name.lower(),
                           rank=rank.value, rank_level=rank.level)  # fmt: skip
            repos.session.add(row)
            repos.session.flush()
            taxa.append(int(row.id))
        genus, precise = taxa[0], taxa[1:]
        for n in range(360):
            pipeline = "p" if n < 300 else "other"
            person = rng.random() < 0.2
            identified = person and rng.random() < 0.6
            taxon = (rng.choice(precise) if rng.random() < precise_share
                     else rng.choice([genus, None]))  # fmt: skip
            score = None if person or rng.random() < 0.1 else rng.choice([0.0, 0.3, 0.5, 0.9])
            seen = START + timedelta(minutes=n)
            label = None if taxon is None and n % 2 else f"l{taxon}"
            repos.session.add(OccurrenceRow(
                project_id=project.id, deployment_id=deployment.id,
                event_id=rng.choice(events), pipeline=pipeline, first_seen_at=seen,
                first_offset_minutes=0, last_seen_at=seen, last_offset_minutes=0,
                detection_count=1, best_annotation_id=n + 1, label=label, score=score,
                determined_by="person" if person else "model", taxon_id=taxon,
                identified_by="Ann" if identified else None,
                disputed=identified and rng.random() < 0.3,
            ))  # fmt: skip
        repos.session.flush()
        untallied(repos.session, events)
    return Scope(project.id, pipeline="p")


def _sorted_whole(db: Database, scope: Scope) -> list[int]:
    """Every occurrence that needs a look in the queue's order, by one sort."""
    o = OccurrenceRow
    vague = case((o.taxon_id.is_(None), 0), (TaxonRow.rank_level < Rank.SPECIES.level, 0),
                 else_=1)  # fmt: skip
    with db.read() as repos:
        return list(
            repos.session.scalars(
                select(o.id)
                .outerjoin(TaxonRow, TaxonRow.id == o.taxon_id)
                .where(
                    o.project_id == scope.project_id,
                    o.pipeline == scope.pipeline,
                    o.disputed | o.identified_by.is_(None),
                )
                .order_by(o.disputed.desc(), vague, func.coalesce(o.score, 0.0), o.id)
            )
        )


@pytest.mark.parametrize(("seed", "precise_share"), [(1, 0.7), (2, 0.04), (3, 0.0)])
def test_every_page_of_the_queue_is_that_of_the_whole_sort(
    app_db: Database, seed: int, precise_share: float
) -> None:
    scope = _scene(app_db, seed, precise_share)
    whole = _sorted_whole(app_db, scope)
    assert len(whole) > 150
    for limit, offset in [(50, 0), (50, 50), (7, 13), (100, 200), (50, len(whole) - 10),
                          (50, len(whole))]:  # fmt: skip
        with app_db.read() as repos:
            total, page = repos.review.identifications.queue(scope, limit=limit, offset=offset)
        assert total == len(whole)
        assert [o.id for o in page] == whole[offset : offset + limit], (limit, offset)


@pytest.mark.parametrize(("seed", "precise_share"), [(4, 0.7), (5, 0.0)])
def test_the_queue_by_label_counts_and_orders_as_one_grouped_sort(
    app_db: Database, seed: int, precise_share: float
) -> None:
    scope = _scene(app_db, seed, precise_share)
    o = OccurrenceRow
    model = (
        (o.project_id == scope.project_id)
        & (o.pipeline == scope.pipeline)
        & (o.determined_by == "model")
    )
    with app_db.read() as repos:
        rows = repos.session.execute(
            select(o.label, o.taxon_id, o.id).where(model)
            .order_by(func.coalesce(o.score, 0.0), o.id)
        ).all()  # fmt: skip
    groups: dict[tuple[str | None, int | None], list[int]] = {}
    for label, taxon, oid in rows:
        groups.setdefault((label, taxon), []).append(oid)
    expected = sorted(groups.items(), key=lambda g: (-len(g[1]), g[0][0] is None, g[0][0] or "",
                                                     g[0][1] is None, g[0][1] or 0))  # fmt: skip
    assert len(expected) >= 3 if precise_share else len(expected) >= 2
    cases = [(2, 0, 5, 2), (10, 1, 500, 24), (1, len(expected) - 1, 3, 3)]
    for limit, offset, per_label, shown in cases:
        with app_db.read() as repos:
            total, page = repos.review.identifications.queue_labels(
                scope, limit=limit, offset=offset, per_label=per_label, shown=shown
            )
        assert total == len(expected)
        assert [(g.label, g.taxon_id, g.count, g.member_ids) for g in page] == [
            (label, taxon, len(ids), ids[:per_label])
            for (label, taxon), ids in expected[offset : offset + limit]
        ]
        # The first of each group whole, the page's crops: the same occurrences, in order.
        for group in page:
            assert [m.id for m in group.occurrences] == group.member_ids[:shown]
            assert all(m.label == group.label for m in group.occurrences)


def test_peoples_determinations_are_found_in_their_index_alone(app_db: Database) -> None:
    """Which of people's determinations the queue shows first is read in the index of
    determinations, no row of the table: they grow with what people did, and reading each
    row was most of the queue at a million photos. Every column the statement reads is in the
    index; SQLite's plan says so (PostgreSQL's plan of a test's few rows is not a real one's)."""
    scope = _scene(app_db, 6, 0.5)
    o = OccurrenceRow
    with app_db.read() as repos:
        genus = repos.session.scalar(select(TaxonRow.id).where(TaxonRow.rank == "genus"))
        people = set(repos.session.scalars(select(o.id).where(o.determined_by == "person")))
        assert genus is not None
        query = people_first(scope, {int(genus)}, 30)
        found = repos.session.scalars(query).all()
        plan = plan_of(repos.session, query)
        sqlite = repos.session.get_bind().dialect.name == "sqlite"
    assert found == [i for i in _sorted_whole(app_db, scope) if i in people][:30]
    assert len(found) == 30
    name = "ix_occurrences_project_pipeline_determination"
    (index,) = [i for i in o.__table__.indexes if i.name == name]
    read = {c.name for c in iterate(query) if isinstance(c, Column) and c.table is o.__table__}
    assert {"rejected", "taxon_id", "disputed", "score", "id"} <= read
    assert read <= {c.name for c in index.columns}
    if sqlite:
        assert f"COVERING INDEX {name}" in plan, plan
