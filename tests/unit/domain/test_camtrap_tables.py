"""The record table's independence rule and the camera-operation matrix and detection
history, as camtrapR defines them (docs/analysis.md), against tables worked out by hand."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from trapline.domain.exports.camera_operation import (
    Day1,
    EmptyDays,
    HistoryOutput,
    Occasions,
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
    # 30 min after 20:40 (a record), though only 30 after it; 22:10 is 60 after 21:10.
    rule = Independence(30, DeltaReference.LAST_RECORD)
    assert _kept(rule) == [(1, 0), (4, 70), (5, 60)]


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
    assert record_values(second)[5:9] == (7800, 130, 2.2, 0.09)
    assert record_values(second)[-1] == 180


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
    op = camera_operation(_stations())
    assert op.days == tuple(date(2024, 3, d) for d in (1, 2, 3, 4))
    assert [r.cells for r in op.rows] == [(1, 1, 0, 1), (None, 1, 1, None)]
    every = camera_operation(_stations(), EmptyDays.OPERATING)
    assert [r.cells for r in every.rows] == [(1, 1, 1, 1), (None, 1, 1, None)]
    clipped = camera_operation(_stations(), since=date(2024, 3, 2), until=date(2024, 3, 3))
    assert [r.cells for r in clipped.rows] == [(1, 0), (1, 1)]


def test_reversed_days_name_since() -> None:
    with pytest.raises(ValueError, match="since"):
        camera_operation(_stations(), since=date(2024, 3, 4), until=date(2024, 3, 1))


def test_detection_history_by_station_and_by_survey() -> None:
    op = camera_operation(_stations())
    found = {1: [date(2024, 3, 1), date(2024, 3, 1), date(2024, 3, 4)], 2: [date(2024, 3, 3)]}
    # Two-day occasions from each station's setup: A 1-2, 3-4; B 2-3, (4 is NA, so NA).
    h = detection_history(op, found, Occasions(2, Day1.STATION, HistoryOutput.COUNT))
    assert h.occasions == 2
    assert [(r.start, r.cells, r.effort) for r in h.rows] == [
        (date(2024, 3, 1), (2, 1), (2, 1)),
        (date(2024, 3, 2), (1, None), (2, None)),
    ]
    binary = detection_history(op, found, Occasions(2, Day1.STATION))
    assert [r.cells for r in binary.rows] == [(1, 1), (1, None)]
    # From the survey's first day: B's first occasion has one operating day.
    survey = detection_history(op, found, Occasions(2, Day1.SURVEY, min_active_days=2))
    assert survey.occasion_starts == (date(2024, 3, 1), date(2024, 3, 3))
    assert [(r.cells, r.effort) for r in survey.rows] == [((1, None), (2, None)),
                                                          ((None, None), (None, None))]  # fmt: skip
    # The last, shorter occasion is kept.
    three = detection_history(op, found, Occasions(3, Day1.SURVEY))
    assert [(r.cells, r.effort) for r in three.rows] == [((1, 1), (2, 1)), ((1, None), (2, None))]


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
