"""The kept counts agree with what they keep: each event's tallies with its occurrences (those
no person rejected) counted afresh, and each pipeline's sums (and its sums by deployment, label
and taxon) with the tallies."""

from __future__ import annotations

from sqlalchemy import func, select, text

from trapline.db.engine import Database
from trapline.db.nights import night_of, sql_date
from trapline.db.tables import OccurrenceRow, OccurrenceTallyRow

_SUMS = (
    (
        "SELECT project_id, pipeline, sum(occurrences), sum(detections) FROM occurrence_tallies"
        " GROUP BY project_id, pipeline",
        "SELECT * FROM pipeline_tallies WHERE occurrences > 0 OR detections > 0",
    ),
    (
        "SELECT project_id, pipeline, deployment_id, coalesce(label, ''), coalesce(taxon_id, 0),"
        " sum(occurrences), sum(detections) FROM occurrence_tallies GROUP BY project_id,"
        " pipeline, deployment_id, coalesce(label, ''), coalesce(taxon_id, 0)",
        "SELECT * FROM label_tallies WHERE occurrences > 0 OR detections > 0",
    ),
)


def assert_counts_kept(db: Database) -> None:
    """Fail naming the first kept count that is not what it keeps."""
    with db.read() as repos:
        session = repos.session
        o, t = OccurrenceRow, OccurrenceTallyRow
        night = night_of(session, o.first_seen_at)
        keys = (o.event_id, o.project_id, o.deployment_id, o.pipeline, night, o.label, o.taxon_id)
        fresh = {
            (*row[:4], sql_date(row[4]), *row[5:7], int(row[7]), int(row[8] or 0))
            for row in session.execute(
                select(*keys, func.count(), func.sum(o.detection_count))
                .where(o.rejected.is_(None))
                .group_by(*keys)
            )
        }
        kept = {
            (*row[:4], sql_date(row[4]), *row[5:7], int(row[7]), int(row[8]))
            for row in session.execute(
                select(t.event_id, t.project_id, t.deployment_id, t.pipeline, t.night, t.label,
                       t.taxon_id, t.occurrences, t.detections)
            )
        }  # fmt: skip
        assert kept == fresh, f"tallies kept {kept - fresh}, counted {fresh - kept}"
        for summed, kept_sums in _SUMS:
            expected = {tuple(r) for r in session.execute(text(summed))}
            assert {tuple(r) for r in session.execute(text(kept_sums))} == expected
