"""The record table's independence rule and the camera-operation matrix and detection
history, as camtrapR defines them (docs/analysis.md), against tables worked out by camtrapR's
rules (``assessTemporalIndependence``, ``removeDuplicatesOfRecords``, ``cameraOperation`` and
``detectionHistory`` of camtrapR 3.0.3; the app tests of tests/app/events/test_camtrap_tables.py
give the R commands that computed theirs)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from trapline.domain.exports.camera_operation import (
    Day1,
    EmptyDays,
    HistoryOutput,
    Occasions,
    SetupDays,
    StationDays,
    camera_operation,
    detection_history,
)
from trapline.domain.exports.record_table import (
    DeltaReference,
    Independence,
    Sighting,
    record_values,
    records,
)


def _seen(n: int, station: int, species: str, hh_mm: str, day: int = 1) -> Sighting:
    hour, minute = (int(x) for x in hh_mm.split(":"))
    at = datetime(2024, 3, day, hour, minute)
    return Sighting(n, station, f"S{station}", species, None, at, 180, f"S{station}", f"{n}.jpg")


#: One station, one species: sightings at 0, 20, 40, 70 and 130 minutes past 20:00.
CHAIN = [
    _seen(1, 1, "fox", "20:00"),
    _seen(2, 1, "fox", "20:20"),
    _seen(3, 1, "fox", "20:40"),
    _seen(4, 1, "fox", "21:10"),
    _seen(5, 1, "fox", "22:10"),
]


def _kept(rule: Independence) -> list[tuple[int, float]]:
    return [(r.sighting.occurrence_id, r.delta_seconds / 60) for r in records(CHAIN, rule)]


def test_every_sighting_is_a_record_without_an_interval() -> None:
    assert _kept(Independence()) == [(1, 0), (2, 20), (3, 20), (4, 30), (5, 60)]


def test_compared_to_the_last_record_kept_or_not() -> None:
    # 30 min: 20:20 and 20:40 are each 20 min after the one before, so dropped; 21:10 is
    # 30 min after 20:40 (a record, and its delta is those 30 minutes, not the 70 since the
    # record before it); 22:10 is 60 after 21:10.
    rule = Independence(30, DeltaReference.LAST_RECORD)
    assert _kept(rule) == [(1, 0), (4, 30), (5, 60)]


def test_compared_to_the_last_independent_record() -> None:
    # 30 min from the last kept: 20:40 is 40 min after 20:00 (kept), 21:10 30 after 20:40.
    rule = Independence(30, DeltaReference.LAST_INDEPENDENT_RECORD)
    assert _kept(rule) == [(1, 0), (3, 40), (4, 30), (5, 60)]


def test_each_station_and_species_is_its_own_sequence() -> None:
    sightings = [
        _seen(1, 1, "fox", "20:00"),
        _seen(2, 1, "hare", "20:05"),
        _seen(3, 1, "hare", "20:10"),
        _seen(4, 2, "fox", "20:01"),
    ]
    kept = [r.sighting.occurrence_id for r in records(sightings, Independence(30))]
    assert kept == [1, 2, 4]


def test_a_rows_values_in_camtrapr_form() -> None:
    (first, second) = list(records([CHAIN[0], CHAIN[4]], Independence()))
    assert record_values(first)[:11] == (
        "S1", "fox", "2024-03-01 20:00:00", "2024-03-01", "20:00:00", 0, 0, 0, 0, "S1", "1.jpg"
    )  # fmt: skip
    # Each rounded from the one before, as camtrapR does: 130 min, 2.2 h, 2.2 / 24 = 0.1 days.
    assert record_values(second)[5:9] == (7800, 130, 2.2, 0.1)
    assert record_values(second)[-1] == 180


def test_sightings_in_one_second_are_one_record_unless_kept() -> None:
    # Two foxes in the 20:00 photo, two in the 20:20 one (to the second: 20:20:00.4).
    later = CHAIN[1].seen_at.replace(microsecond=400_000)
    pair = [
        CHAIN[0],
        CHAIN[0]._replace(occurrence_id=9),
        CHAIN[1],
        CHAIN[1]._replace(occurrence_id=8, seen_at=later),
    ]
    found = [(r.sighting.occurrence_id, r.delta_seconds) for r in records(pair, Independence())]
    assert found == [(1, 0), (2, 1200)]
    # Kept: each of a second has the delta of the first of it (camtrapR compares with the
    # previous time, strictly earlier).
    every = records(pair, Independence(remove_duplicates=False))
    assert [(r.sighting.occurrence_id, r.delta_seconds) for r in every] == [
        (1, 0), (9, 0), (2, 1200), (8, 1200)
    ]  # fmt: skip
    # With an interval they are one record, as camtrapR sets removeDuplicateRecords then.
    spaced = records(pair, Independence(10, remove_duplicates=False))
    assert [r.sighting.occurrence_id for r in spaced] == [1, 2]


@pytest.mark.parametrize("minutes", [-1, float("nan"), 10**7])
def test_a_bad_interval_names_the_field(minutes: float) -> None:
    with pytest.raises(ValueError, match="min_delta_minutes"):
        Independence(minutes)


def _stations() -> list[StationDays]:
    # A: set 03-01 to 03-04, photos on 1, 2 and 4 (a gap on the 3rd). B: no dates, photos on
    # the 2nd and 3rd.
    a = StationDays(1, "A", date(2024, 3, 1), date(2024, 3, 4),
                    frozenset({date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 4)}))  # fmt: skip
    b = StationDays(2, "B", None, None, frozenset({date(2024, 3, 2), date(2024, 3, 3)}))
    return [a, b]


def test_camera_operation_by_photos_and_by_camtrapr_rule() -> None:
    # Setup and retrieval days are half days, as camtrapR counts them (setup at noon).
    op = camera_operation(_stations())
    assert op.days == tuple(date(2024, 3, d) for d in (1, 2, 3, 4))
    assert [r.cells for r in op.rows] == [(0.5, 1, 0, 0.5), (None, 0.5, 0.5, None)]
    every = camera_operation(_stations(), EmptyDays.OPERATING)
    assert [r.cells for r in every.rows] == [(0.5, 1, 1, 0.5), (None, 0.5, 0.5, None)]
    clipped = camera_operation(_stations(), since=date(2024, 3, 2), until=date(2024, 3, 3))
    assert [r.cells for r in clipped.rows] == [(1, 0), (0.5, 0.5)]
    whole = camera_operation(_stations(), setup_days=SetupDays.WHOLE)
    assert [r.cells for r in whole.rows] == [(1, 1, 0, 1), (None, 1, 1, None)]
    # Set up and retrieved on one day: half of it.
    one = StationDays(3, "C", date(2024, 3, 2), date(2024, 3, 2), frozenset())
    assert camera_operation([one], EmptyDays.OPERATING).rows[0].cells == (0.5,)


def test_reversed_days_name_since() -> None:
    with pytest.raises(ValueError, match="since"):
        camera_operation(_stations(), since=date(2024, 3, 4), until=date(2024, 3, 1))


def test_detection_history_by_station_and_by_survey() -> None:
    op = camera_operation(_stations())
    found = {1: [date(2024, 3, 1), date(2024, 3, 1), date(2024, 3, 4)], 2: [date(2024, 3, 3)]}
    # Two-day occasions from each station's setup: A 1-2 (0.5 + 1), 3-4 (0 + 0.5); B 2-3
    # (0.5 + 0.5), then (4 is NA) none.
    h = detection_history(op, found, Occasions(2, Day1.STATION, HistoryOutput.COUNT))
    assert h.occasions == 2
    assert [(r.start, r.cells, r.effort) for r in h.rows] == [
        (date(2024, 3, 1), (2, 1), (1.5, 0.5)),
        (date(2024, 3, 2), (1, None), (1, None)),
    ]
    binary = detection_history(op, found, Occasions(2, Day1.STATION))
    assert [r.cells for r in binary.rows] == [(1, 1), (1, None)]
    # From the survey's first day, a day operating at least: A's 3-4 has a half, B's
    # occasions a half each.
    survey = detection_history(op, found, Occasions(2, Day1.SURVEY, min_active_days=1))
    assert survey.occasion_starts == (date(2024, 3, 1), date(2024, 3, 3))
    assert [(r.cells, r.effort) for r in survey.rows] == [((1, None), (1.5, None)),
                                                          ((None, None), (None, None))]  # fmt: skip
    # The last, shorter occasion is kept.
    three = detection_history(op, found, Occasions(3, Day1.SURVEY))
    assert [(r.cells, r.effort) for r in three.rows] == [((1, 1), (1.5, 0.5)),
                                                         ((1, None), (1, None))]  # fmt: skip


def test_one_day_occasions_are_the_matrix_as_it_is() -> None:
    # camtrapR: a day off keeps its effort 0 (its cell NA), and minActiveDaysPerOccasion does
    # not apply to one-day occasions (a half day stays).
    op = camera_operation(_stations())
    h = detection_history(op, {1: [date(2024, 3, 1)]}, Occasions(1, min_active_days=1))
    assert [(r.cells, r.effort) for r in h.rows] == [
        ((1, 0, None, 0), (0.5, 1, 0, 0.5)),
        ((0, 0, None, None), (0.5, 0.5, None, None)),
    ]


def test_occasions_by_station_end_with_the_longest_stations_days() -> None:
    # A from 1 to 2 March, B from 3 to 4: each has two days, so one two-day occasion (the
    # survey's four days do not make a second).
    a = StationDays(1, "A", date(2024, 3, 1), date(2024, 3, 2), frozenset())
    b = StationDays(2, "B", date(2024, 3, 3), date(2024, 3, 4), frozenset())
    op = camera_operation([a, b], EmptyDays.OPERATING)
    h = detection_history(op, {}, Occasions(2, Day1.STATION))
    assert h.occasions == 1
    assert [r.effort for r in h.rows] == [(1,), (1,)]


def test_a_taxon_never_recorded_is_all_zero_where_operating() -> None:
    op = camera_operation(_stations())
    h = detection_history(op, {}, Occasions(1))
    assert [r.cells for r in h.rows] == [(0, 0, None, 0), (0, 0, None, None)]


@pytest.mark.parametrize(
    ("length", "least", "field"),
    [(0, None, "occasion_length"), (-2, None, "occasion_length"), (2, 3, "min_active_days"),
     (2, 0, "min_active_days")],
)  # fmt: skip
def test_bad_occasions_name_the_field(length: int, least: int | None, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Occasions(length, min_active_days=least)
