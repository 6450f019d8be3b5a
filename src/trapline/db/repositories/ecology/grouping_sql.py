"""The SQL that groups a scope of a deployment's photos into events in one pass (see
``EventRepo.regroup``): window functions mark where each event starts and ends, then the
events are written and each photo pointed at its own."""

from __future__ import annotations

from trapline.db.nights import NIGHT_SQL
from trapline.domain.core.event_rules import EventRule, Grouping

#: Where photo ``{b}`` starts a new event after photo ``{a}``, per rule and dialect (SQL over
#: their wall clocks and, for gaps, offsets ``{a}off`` and ``{b}off``).
_NEW_NIGHT = {
    dialect: night.format(x="{b}") + " <> " + night.format(x="{a}")
    for dialect, night in NIGHT_SQL.items()
}
#: Milliseconds between two instants (wall clocks less their offsets), more than the gap.
_NEW_SEQUENCE = {
    "sqlite": "ROUND((julianday({b}) - julianday({a})) * 86400000.0) - ({b}off - {a}off) * 60000"
    " > :gap_ms",
    "postgresql": "ROUND(EXTRACT(EPOCH FROM ({b} - {a})) * 1000) - ({b}off - {a}off) * 60000"
    " > :gap_ms",
}

#: The photos of a scope in time order, each marked where an event starts (s) and ends (e),
#: and numbered by event (grp). ``{new}`` and ``{new_next}`` say where a new event starts.
_FLAGGED = """
WITH ordered AS (
    SELECT id, captured_at AS t, COALESCE(captured_offset_minutes, 0) AS toff,
           LAG(captured_at) OVER w AS p,
           LAG(COALESCE(captured_offset_minutes, 0)) OVER w AS poff,
           LEAD(captured_at) OVER w AS n,
           LEAD(COALESCE(captured_offset_minutes, 0)) OVER w AS noff
    FROM images
    WHERE project_id = :project AND deployment_id = :deployment AND captured_at IS NOT NULL
          {span}
    WINDOW w AS (ORDER BY captured_sort, id)
), marked AS (
    SELECT id, t, toff AS off,
           CASE WHEN p IS NULL OR ({new}) THEN 1 ELSE 0 END AS s,
           CASE WHEN n IS NULL OR ({new_next}) THEN 1 ELSE 0 END AS e
    FROM ordered
), flagged AS (
    SELECT id, t, off, s, e, SUM(s) OVER (ORDER BY t, id ROWS UNBOUNDED PRECEDING) AS grp
    FROM marked
)
"""
#: Whether a scope's photos (as ``_FLAGGED`` takes them, ``{span}`` the same) hold one in no
#: event: only then can a group gain photos (``GAIN``), whose pass over the scope a regrouping
#: of photos all in events (a change of rule) is spared. Each photo's link is looked up by its
#: key, stopping at the first missing: written as ``NOT EXISTS``, the regrouping of 200,000
#: photos over 100 deployments took 12.3 s on PostgreSQL against 8.7 s.
UNLINKED = """
SELECT 1 FROM images
WHERE project_id = :project AND deployment_id = :deployment AND captured_at IS NOT NULL {span}
      AND (SELECT l.image_id FROM image_events l WHERE l.image_id = images.id) IS NULL
LIMIT 1
"""

#: Each event of a scope's photos: its number, first photo, times, size, and the old events
#: its photos point at (the lowest and highest id, and how many of its photos point at one).
_GROUPS = """
SELECT grp, MIN(CASE WHEN s = 1 THEN f.id END) AS first_id, MIN(t) AS starts,
       MAX(CASE WHEN s = 1 THEN off END) AS soff, MAX(t) AS ends,
       MAX(CASE WHEN e = 1 THEN off END) AS eoff, COUNT(*) AS n,
       MIN(was.event_id) AS was_lo, MAX(was.event_id) AS was_hi, COUNT(was.event_id) AS pointed
FROM flagged f LEFT JOIN image_events was ON was.image_id = f.id
GROUP BY grp
"""
#: Where group ``{g}`` keeps old event ``{o}``: the group holds every photo of the event, its
#: other photos are in no event (just added, or newly dated), and the event lost none of its
#: photos (a photo moved away or deleted takes its link, not the event's count, which is then
#: more than its links).
#: ``GAIN`` and ``KEEP`` leave this true, so ``INSERT`` still finds the event after them.
_KEEPS = """
{g}.was_lo = {g}.was_hi AND {o}.id = {g}.was_lo AND {o}.deployment_id = :deployment
AND (SELECT COUNT(*) FROM image_events x WHERE x.event_id = {o}.id) = {g}.pointed
AND {o}.image_count <= {g}.pointed
"""
#: The photos in no event of a group that keeps an old event, pointed at it: photos that only
#: extend an event join it, as one placed at a time does. Run before ``KEEP``.
GAIN = f"""
INSERT INTO image_events (image_id, event_id)
SELECT f.id, g.was_lo
FROM flagged f JOIN ({_GROUPS}) g ON g.grp = f.grp JOIN events o ON o.id = g.was_lo
WHERE g.pointed < g.n AND {_KEEPS.format(g="g", o="o")}
AND NOT EXISTS (SELECT 1 FROM image_events l WHERE l.image_id = f.id)
"""  # noqa: S608
#: An old event a group of the scope keeps stays, with its id, occurrences and tracking: when
#: the group's times, first photo or size differ from its own (photos added, a zone corrected,
#: capture times read again), it takes the group's and is due for tracking again (the order of
#: its photos, and its occurrences' times, may have changed). Run before ``INSERT``, which
#: then finds it the same in every way.
KEEP = f"""
UPDATE events SET first_image_id = g.first_id, starts_at = g.starts,
    start_offset_minutes = g.soff, ends_at = g.ends, end_offset_minutes = g.eoff,
    image_count = g.n, tracking_version = tracking_version + 1
FROM ({_GROUPS}) g
WHERE {_KEEPS.format(g="g", o="events")}
AND NOT (events.first_image_id = g.first_id AND events.starts_at = g.starts
         AND events.ends_at = g.ends AND events.start_offset_minutes = g.soff
         AND events.end_offset_minutes = g.eoff AND events.image_count = g.n)
"""  # noqa: S608
#: The events of a scope's photos, written unless an old event holds exactly the same photos
#: at the same times (a group kept it: it stays, with its id, occurrences and tracking, and its
#: photos point at it; ``GAIN`` and ``KEEP`` made it so first).
INSERT = f"""
INSERT INTO events (project_id, deployment_id, first_image_id, starts_at,
                    start_offset_minutes, ends_at, end_offset_minutes, image_count)
SELECT :project, :deployment, first_id, starts, soff, ends, eoff, n
FROM ({_GROUPS}) g
WHERE NOT EXISTS (
    SELECT 1 FROM events o
    WHERE {_KEEPS.format(g="g", o="o")} AND o.image_count = g.n
          AND o.first_image_id = g.first_id AND o.starts_at = g.starts AND o.ends_at = g.ends
          AND o.start_offset_minutes = g.soff AND o.end_offset_minutes = g.eoff
)
"""  # noqa: S608
#: Each photo with the first photo of its event.
_FIRSTS = """
, firsts AS (
    SELECT id, MIN(CASE WHEN s = 1 THEN id END) OVER (PARTITION BY grp) AS first_id FROM flagged
)
"""
#: Pointing a photo at an event, replacing the event it was in.
REPOINT = " ON CONFLICT (image_id) DO UPDATE SET event_id = excluded.event_id"
#: Each photo pointed at its event, found by the event's first photo (SQLite; ``WHERE true``
#: tells its parser that ``ON CONFLICT`` is not the join's).
POINT = f"""{_FIRSTS}
INSERT INTO image_events (image_id, event_id)
SELECT firsts.id, events.id
FROM firsts JOIN events ON events.first_image_id = firsts.first_id
    AND events.deployment_id = :deployment AND events.id > :newest
WHERE true{REPOINT}"""  # noqa: S608
#: PostgreSQL writes the events and points the photos at them in one statement (the windows
#: run once), beside the events it replaces.
INSERT_AND_POINT = (
    ", made AS ("
    + INSERT
    + " RETURNING id, first_image_id)"
    + _FIRSTS
    + """
INSERT INTO image_events (image_id, event_id)
SELECT firsts.id, made.id FROM firsts JOIN made ON made.first_image_id = firsts.first_id"""
    + REPOINT
)


def flagged_sql(dialect: str, grouping: Grouping, span: str) -> str:
    """The photos of a scope (``span``: more conditions on them, or "") flagged by event."""
    return _FLAGGED.format(
        span=span,
        new=_new_event_sql(dialect, grouping, "p", "t"),
        new_next=_new_event_sql(dialect, grouping, "t", "n"),
    )


def _new_event_sql(dialect: str, grouping: Grouping, earlier: str, later: str) -> str:
    """Where photo ``later`` starts a new event after photo ``earlier`` (column names)."""
    rules = _NEW_NIGHT if grouping.rule is EventRule.NIGHT else _NEW_SEQUENCE
    return rules[dialect].format(a=earlier, b=later)
