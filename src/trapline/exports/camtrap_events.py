"""Camtrap DP's event-level observations: one per event and taxon (or label, for occurrences
that name no taxon), counting the event's occurrences that the export's filters keep.

They are what GBIF publishes: its conversion of a package (``write_dwc`` of the ``camtrapdp``
R package) makes an occurrence of each event-level ``animal`` observation, unless the package
asks for the media level; trapline's occurrences are individuals tracked across an event's
photos, so a heron seen in ten frames is one observation with a ``count`` of 1, not ten.
An ``animal`` that names no taxon (a detector's ``animal``, a label the list does not map) is
left out of them, and named in the export's problems: GBIF would make it an occurrence
without a name. Its media-level observations keep it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import quote

from trapline.domain.exports.facts import EventFacts, IdentificationFacts, OccurrenceFacts
from trapline.exports.base import CsvFile, wall_span
from trapline.exports.camtrap_meaning import Meanings
from trapline.exports.camtrap_package import number
from trapline.exports.context import published_id
from trapline.exports.occurrences import kept
from trapline.exports.reader import ExportContext, ImageResult


class EventCount(NamedTuple):
    """An event's occurrences of one taxon (or, naming none, of one label)."""

    taxon_id: int | None
    label: str | None
    #: ``human`` when a person determined every one of them, else ``machine``.
    method: str
    #: Who determined them, when people did all (``person`` for one unnamed).
    people: str
    #: The highest model score among them.
    probability: float | None
    occurrences: int


def event_counts(
    occurrences: Iterable[OccurrenceFacts],
    identified: dict[int, IdentificationFacts] | None = None,
) -> list[EventCount]:
    """An event's occurrences counted by the taxon their determination names, or by label
    for those that name none; taxa first (by id), then labels."""
    groups: dict[tuple[int, str], list[OccurrenceFacts]] = {}
    for o in occurrences:
        key = (0, str(o.taxon_id)) if o.taxon_id is not None else (1, o.label or "")
        groups.setdefault(key, []).append(o)
    counted = []
    for key in sorted(groups, key=lambda k: (k[0], int(k[1]) if k[0] == 0 else 0, k[1])):
        found = groups[key]
        human = all(o.determined_by == "person" for o in found)
        scores = [o.score for o in found if o.score is not None]
        people = sorted({_person(o, identified or {}) for o in found}) if human else []
        method = "human" if human else "machine"
        best = max(scores, default=None)
        first = found[0]
        counted.append(
            EventCount(first.taxon_id, first.label, method, "; ".join(people), best, len(found))
        )
    return counted


class EventObservations:
    """Writes each event's observations to the observations table, the first time one of its
    photos goes by (its occurrences come with that photo: ``OccurrenceReads.by_event``)."""

    def __init__(
        self, context: ExportContext, meanings: Meanings, table: CsvFile, *, only: bool
    ) -> None:
        self.context = context
        self.meanings = meanings
        self.table = table
        #: Whether the package holds event-level observations only (a photo in no event is
        #: then named in the problems even when nothing was found in it).
        self.only = only
        self._done: set[int] = set()
        #: The labels of unnamed animals left out, or written as ``unknown``, so far (each named
        #: once in the problems).
        self._unnamed: set[str] = set()

    def add(self, result: ImageResult, deployment_id: str) -> int:
        """The observations of the photo's event, if not written yet; how many."""
        event = result.event
        if event is None:
            if self.only or result.detections:
                self.context.problem(
                    f"image {result.image.id} ({result.image.filename}) has no event yet (its "
                    "deployment is being grouped): no event-level observation names it"
                )
            return 0
        if event.id in self._done:
            return 0
        self._done.add(event.id)
        filters = self.context.filters
        found = [o for o in result.occurrences if kept(o, filters)]
        columns = event_columns(event, "")
        rows = 0
        installation = self.context.installation
        for counted in event_counts(found, result.determinations.identified):
            name = self.meanings.taxon_name(counted.taxon_id)
            if name:
                kind, tags = "animal", ""
            else:
                name, kind, tags = self.meanings.of_label(counted.label)
            if kind == "animal" and not name:
                self._left_out(counted.label or "")
                continue
            if kind == "unknown":
                self._untyped(counted.label or "")
            rows += 1
            self.table.add(
                [observation_id(installation, event.id, counted), deployment_id, "", *columns,
                 "event", kind, "", name, str(counted.occurrences), "", "", "", "", "", "", "",
                 "", "", "", "",
                 counted.method, counted.people, "", number(counted.probability), tags, ""]
            )  # fmt: skip
        return rows

    def _untyped(self, label: str) -> None:
        """Name, the first time, a label that says neither a taxon nor a kind of thing: its
        occurrences are written as ``unknown`` observations, which GBIF does not publish."""
        if label in self._unnamed:
            return
        self._unnamed.add(label)
        self.context.problem(
            f"label {label!r} names no taxon: its occurrences are event-level observations of "
            "type unknown, which GBIF does not publish; map the label onto a taxon of the "
            "project's list and export again"
        )

    def _left_out(self, label: str) -> None:
        """Name an unnamed animal's label in the problems, the first time."""
        if label in self._unnamed:
            return
        self._unnamed.add(label)
        level = "" if self.only else " (its media-level observations keep it)"
        self.context.problem(
            f"label {label!r} names no taxon: its occurrences are left out of the event-level "
            "observations, which GBIF makes occurrences of every animal (they would have no "
            f"name){level}; map the label onto a taxon of the project's list and export again"
        )


def observation_id(installation: str, event_id: int, counted: EventCount) -> str:
    """The ``observationID`` of an event's observation of one taxon (or label): the event's
    published id and what the observation counts (``…:event:<id>:taxon:<taxon id>``, or
    ``…:label:<label, percent-encoded>``). Unique across installations; the same in every
    export while the event keeps its id, and always of the same taxon: an identification that
    names another takes occurrences from one observation to another's id."""
    event = published_id(installation, "event", event_id)
    if counted.taxon_id is not None:
        return f"{event}:taxon:{counted.taxon_id}"
    return f"{event}:label:{quote(counted.label or '', safe='')}"


def event_columns(event: EventFacts | None, stamp: str) -> tuple[str, str, str]:
    """eventID, eventStart and eventEnd of an observation: its image's event's, else the
    image's own time for both ends."""
    if event is None:
        return ("", stamp, stamp)
    return (
        str(event.id),
        *wall_span(
            event.starts_at, event.start_offset_minutes, event.ends_at, event.end_offset_minutes
        ),
    )


def _person(o: OccurrenceFacts, identified: dict[int, IdentificationFacts]) -> str:
    said = identified.get(o.id)
    return (said.person if said else None) or o.identified_by or "person"
