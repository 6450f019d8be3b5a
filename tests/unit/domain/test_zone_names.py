"""Time zone names: canonical ones are taken; aliases, rules and offsets are refused with the
name to use."""

from __future__ import annotations

import pytest

from trapline.domain.photos.local_times import zone_error
from trapline.domain.photos.zone_names import not_canonical, parse

#: A few lines of a tzdata.zi built without backzone: Amsterdam an alias of Brussels.
ZI = """# version 2026f
Z America/New_York -4:56:2 - LMT 1883 N 18 17u
Z Europe/Brussels 0:17:30 - LMT 1880
Z Etc/UTC 0 - UTC
Z EST -5 - EST
L America/New_York US/Eastern
L Europe/Brussels Europe/Amsterdam
L Etc/UTC UTC
L Etc/UTC Etc/Universal
"""
#: zone.tab lists one zone per country and region, Amsterdam among them.
TAB = "# comment\nNL\t+5222+00454\tEurope/Amsterdam\nBE\t+5050+00420\tEurope/Brussels\n"


def test_a_country_zone_is_canonical_where_the_database_makes_it_an_alias() -> None:
    names = parse(ZI, TAB)
    assert not_canonical("Europe/Amsterdam", names) is None
    assert not_canonical("Europe/Brussels", names) is None
    assert not_canonical("UTC", names) is None
    assert not_canonical("Etc/UTC", names) is None
    assert not_canonical("US/Eastern", names) == (
        "US/Eastern is an old alias; use America/New_York"
    )
    assert not_canonical("Etc/Universal", names) == "Etc/Universal is an old alias; use Etc/UTC"
    # Without zone.tab, Amsterdam is only an alias.
    assert not_canonical("Europe/Amsterdam", parse(ZI)) == (
        "Europe/Amsterdam is an old alias; use Europe/Brussels"
    )


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("US/Eastern", "in canonical form: US/Eastern is an old alias; use America/New_York"),
        ("Asia/Calcutta", "Asia/Calcutta is an old alias; use Asia/Kolkata"),
        ("Europe/Kiev", "Europe/Kiev is an old alias; use Europe/Kyiv"),
        ("EST", "EST is a fixed offset (UTC-05:00), not a place"),
        ("EST", "or Etc/GMT+5 for a clock kept at UTC-05:00 all year"),
        ("CET", "CET is a rule, not a place: use the place's own zone"),
        ("GMT", "GMT is UTC+00:00, not a place: use UTC"),
        ("GMT+5", "GMT+5 is a fixed offset (UTC+05:00), not a place"),
        ("GMT+5", "or Etc/GMT-5 for a clock kept at UTC+05:00 all year"),
        ("+03:00", "or Etc/GMT-3 for a clock kept at UTC+03:00 all year"),
        ("Mars/Olympus_Mons", "such as Africa/Dar_es_Salaam or UTC (got 'Mars/Olympus_Mons')"),
        # Typed in other letters or with spaces: the name as the database spells it.
        (
            "europe/berlin",
            "use Europe/Berlin, as the zone database spells it (got 'europe/berlin')",
        ),
        ("America/New York", "use America/New_York, as the zone database spells it"),
        ("utc", "use UTC, as the zone database spells it"),
        ("us/eastern", "US/Eastern is an old alias; use America/New_York"),
    ],
)
def test_a_name_that_is_not_canonical_is_refused_with_the_one_to_use(name: str, said: str) -> None:
    problem = zone_error(name)
    assert problem is not None
    assert said in problem


@pytest.mark.parametrize(
    "name",
    ["UTC", "Africa/Dar_es_Salaam", "America/New_York", "Europe/Amsterdam", "Etc/GMT+5"],
)
def test_canonical_names_are_taken(name: str) -> None:
    assert zone_error(name) is None
