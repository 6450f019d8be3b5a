"""Where and when the benchmark data set's photos were taken: three projects on one server,
their deployments, and each deployment's nights, drawn from the seed.

The measured project (``PROJECTS[0]``, ``images`` photos) is a network of twelve light traps
of very different sizes (the biggest takes 29.5% of its photos, the smallest 1.5%) in ten
time zones on five continents; one of them names no zone (it reads its times in the
project's, Europe/London) and one's first night is the one the clocks of Europe/London go
back in (2023-10-28 to 29). The two other projects hold a fifth and a tenth as many photos.

A deployment photographs its sheet in runs of consecutive nights (one to some forty, twelve
on average) with gaps of two to nine weeks between runs. A night has a heavy-tailed number of
photos: drawn from a log-normal of median ``MEDIAN_PHOTOS``, from ``FEWEST_PHOTOS`` to
``MOST_PHOTOS`` (about 3% of nights pass 1,000), taken at even steps from dusk to dawn; the
measured project's biggest deployment has one swarm night of ``MOST_PHOTOS`` photos (a
twentieth of the project, below 100,000 photos). How crowded a night's sheet is is drawn per
night too (``crowd``): one night in twelve finds nothing, one in 25 of the short ones is
crowded (30 to 300 insects at once), the others hold a few insects at a time; the measured
project's second biggest deployment has one night of 300 whatever the draw.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from trapline.domain.photos.local_times import offset_minutes

#: A night's photos: the median of their log-normal, its spread, and the bounds.
MEDIAN_PHOTOS = 150
PHOTOS_SIGMA = 1.0
FEWEST_PHOTOS = 3
MOST_PHOTOS = 5_000
#: Places for insects on the sheet (boxes a photo at most): a crowded night's, from
#: ``FEW_INSECTS`` to ``MOST_INSECTS`` (log-uniform), each taken 95% of the night; any other's
#: at most ``FEW_INSECTS``. A night is crowded by a share of those of at most
#: ``CROWDED_PHOTOS`` photos.
MOST_INSECTS = 300
FEW_INSECTS = 30
CROWDED_SHARE = 1 / 20
CROWDED_PHOTOS = 100
#: Nights in a run of consecutive nights (on average), and days between runs (a range).
RUN_NIGHTS = 12
GAP_DAYS = (14, 63)
#: The night (its number) of the measured project's biggest deployment that is a swarm night,
#: and of its second biggest that is crowded (``MOST_INSECTS`` places, at most
#: ``SPECIAL_CROWDED_PHOTOS`` photos).
SPECIAL_NIGHT = 3
SPECIAL_CROWDED_PHOTOS = 60


@dataclass(frozen=True)
class Site:
    """A deployment as the set describes it: its share of its project's photos."""

    name: str
    #: The deployment's zone; None: it names none (the project's is read).
    zone: str | None
    latitude: float
    longitude: float
    share: float
    first_evening: date
    #: Local time of the first photo of a night, and hours to the last.
    dusk: time
    hours: float


@dataclass(frozen=True)
class ProjectPlan:
    name: str
    description: str
    time_zone: str
    #: Photos, as a share of the measured project's.
    share: float
    #: Where its species list starts (the tropical project catches other species).
    fauna: int
    sites: tuple[Site, ...]


def _site(name: str, zone: str | None, lat: float, lon: float, share: float, first: str,
          dusk: str = "21:00", hours: float = 9.0) -> Site:  # fmt: skip
    return Site(name, zone, lat, lon, share, date.fromisoformat(first), time.fromisoformat(dusk),
                hours)  # fmt: skip


PROJECTS = (
    ProjectPlan(
        "Moth traps", "Light-trap benchmark project: a network of automated moth traps",
        "Europe/London", 1.0, 0,
        (
            _site("Wytham Woods", "Europe/London", 51.77, -1.33, 0.09, "2023-05-02", "21:30"),
            _site("Rothamsted", "Europe/London", 51.81, -0.36, 0.06, "2023-10-28", "18:00", 13),
            _site("Barro Colorado", "America/Panama", 9.15, -79.85, 0.295, "2023-01-10", "19:00",
                  10.5),
            _site("Mont Saint-Hilaire", "America/Toronto", 45.54, -73.15, 0.18, "2023-05-15"),
            _site("Lamington", "Australia/Brisbane", -28.23, 153.12, 0.12, "2023-02-01", "19:00",
                  10),
            _site("Kyoto", "Asia/Tokyo", 35.03, 135.78, 0.07, "2023-06-01", "19:30"),
            _site("Abisko", "Europe/Stockholm", 68.35, 18.82, 0.05, "2023-07-20", "22:30", 6),
            _site("Nairobi", "Africa/Nairobi", -1.28, 36.82, 0.04, "2023-03-05", "19:00", 10.5),
            _site("Monteverde", "America/Costa_Rica", 10.30, -84.80, 0.035, "2023-02-14",
                  "18:30", 11),
            _site("Harvard Forest", "America/New_York", 42.53, -72.19, 0.03, "2023-06-10"),
            _site("Rothamsted annexe", None, 51.80, -0.35, 0.015, "2023-08-01", "21:00"),
            _site("Kuala Belalong", "Asia/Brunei", 4.55, 115.16, 0.015, "2023-04-01", "18:45",
                  11),
        ),
    ),
    ProjectPlan(
        "Garden moths", "Garden moth survey", "Europe/London", 0.2, 0,
        (
            _site("Garden A", "Europe/London", 52.2, 0.12, 0.4, "2023-04-15"),
            _site("Garden B", "Europe/London", 53.4, -2.98, 0.25, "2023-05-01"),
            _site("Garden C", "Europe/London", 50.72, -3.53, 0.15, "2023-06-01"),
            _site("Dublin garden", "Europe/Dublin", 53.35, -6.26, 0.12, "2023-05-20"),
            _site("Utrecht garden", "Europe/Amsterdam", 52.09, 5.12, 0.08, "2023-07-01"),
        ),
    ),
    ProjectPlan(
        "Tropical traps", "Light traps in the tropics", "America/Bogota", 0.1, 1_500,
        (
            _site("Amazonas", "America/Bogota", -4.2, -69.94, 0.5, "2023-03-01", "18:30", 11),
            _site("Bukit Timah", "Asia/Singapore", 1.35, 103.78, 0.25, "2023-01-15", "19:30", 10),
            _site("Bwindi", "Africa/Kampala", -1.05, 29.7, 0.15, "2023-08-01", "19:00", 10.5),
            _site("Varirata", "Pacific/Port_Moresby", -9.43, 147.37, 0.1, "2023-02-01", "18:30",
                  11),
        ),
    ),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Night:
    """One night of one deployment: when its photos were taken and how crowded its sheet was."""

    station: int  #: the deployment's number among every project's (``Layout.stations``)
    index: int  #: its number among the deployment's nights
    evening: date
    photos: int
    #: The zone the camera's clock keeps (the deployment's, else its project's).
    zone: str
    #: The first photo's instant, and seconds from it to the last.
    starts: datetime
    seconds: int
    #: Insects that can sit on the sheet at once, and the share of the time each place is taken.
    slots: int
    occupancy: float
    #: Where the project's species list starts.
    fauna: int

    def taken(self, photo: int) -> datetime:
        """The camera's wall-clock time of photo ``photo`` (naive: cameras write no zone)."""
        step = self.seconds / max(self.photos - 1, 1)
        instant = self.starts + timedelta(seconds=round(photo * step))
        return instant.astimezone(ZoneInfo(self.zone)).replace(tzinfo=None)

    def offset(self, local: datetime) -> int:
        """The UTC offset the product stores for a time read in the zone (as uploads do)."""
        return offset_minutes(local, self.zone)


@dataclass(frozen=True)
class Station:
    """A deployment with its nights."""

    number: int
    project: int  #: index into PROJECTS
    site: Site
    nights: tuple[Night, ...]

    @property
    def photos(self) -> int:
        return sum(n.photos for n in self.nights)


@dataclass(frozen=True)
class Layout:
    """Every project's deployments and nights for a set of ``images`` measured photos."""

    images: int
    stations: tuple[Station, ...]

    def of_project(self, project: int) -> list[Station]:
        return [s for s in self.stations if s.project == project]

    def night(self, station: int, index: int) -> Night:
        return self.stations[station].nights[index]


def project_photos(images: int, project: int) -> int:
    return round(images * PROJECTS[project].share)


@lru_cache(maxsize=4)
def layout(seed: int, images: int) -> Layout:
    """The set's deployments and nights; the same for the same seed and size."""
    stations: list[Station] = []
    for p, plan in enumerate(PROJECTS):
        total = project_photos(images, p)
        targets = [round(total * site.share) for site in plan.sites]
        targets[-1] = total - sum(targets[:-1])
        biggest, second = sorted(range(len(targets)), key=targets.__getitem__)[:-3:-1]
        for k, (site, target) in enumerate(zip(plan.sites, targets, strict=True)):
            swarm = min(MOST_PHOTOS, images // 20) if p == 0 and k == biggest else 0
            rng = random.Random(f"{seed}-layout-{p}-{k}")
            crowded = p == 0 and k == second
            nights = _nights(rng, len(stations), site, plan, target, swarm, crowded)
            stations.append(Station(len(stations), p, site, tuple(nights)))
    return Layout(images, tuple(stations))


def _nights(rng: random.Random, number: int, site: Site, plan: ProjectPlan, target: int,
            swarm: int, crowded: bool) -> list[Night]:  # fmt: skip
    """A deployment's nights, in runs, until they hold ``target`` photos; its night
    ``SPECIAL_NIGHT`` of ``swarm`` photos when given, or ``crowded`` (``MOST_INSECTS`` places)."""
    zone = site.zone or plan.time_zone
    nights: list[Night] = []
    evening, left_in_run = site.first_evening, _run_length(rng)
    left = target
    while left > 0:
        special = len(nights) == SPECIAL_NIGHT
        photos = swarm if special and swarm else _photos(rng)
        photos = min(photos, left, SPECIAL_CROWDED_PHOTOS if special and crowded else left)
        if left - photos < FEWEST_PHOTOS:
            photos = left
        slots, occupancy = crowd(rng, photos)
        if special and crowded:
            slots, occupancy = MOST_INSECTS, 0.97
        dusk = datetime.combine(evening, site.dusk, tzinfo=ZoneInfo(zone)).astimezone(UTC)
        dusk += timedelta(seconds=rng.randrange(-900, 900))
        seconds = int(site.hours * 3600 * rng.uniform(0.9, 1.0))
        nights.append(
            Night(number, len(nights), evening, photos, zone, dusk, seconds, slots, occupancy,
                  plan.fauna)
        )  # fmt: skip
        left -= photos
        left_in_run -= 1
        if left_in_run:
            evening += timedelta(days=1)
        else:
            evening += timedelta(days=rng.randint(*GAP_DAYS))
            left_in_run = _run_length(rng)
    return nights


def _run_length(rng: random.Random) -> int:
    return min(1 + int(rng.expovariate(1 / (RUN_NIGHTS - 1))), 45)


def _photos(rng: random.Random) -> int:
    drawn = math.exp(rng.gauss(math.log(MEDIAN_PHOTOS), PHOTOS_SIGMA))
    return max(FEWEST_PHOTOS, min(MOST_PHOTOS, round(drawn)))


def crowd(rng: random.Random, photos: int) -> tuple[int, float]:
    """How many insects can sit on the sheet at once, and how much of the night each place is
    taken: nothing (a night in twelve), crowded (``CROWDED_SHARE`` of the short nights), else a
    few (a log-normal of median 4.5, at most ``FEW_INSECTS``)."""
    u = rng.random()
    if u < 1 / 12:
        return 0, 0.0
    if u < 1 / 12 + CROWDED_SHARE and photos <= CROWDED_PHOTOS:
        places = math.exp(rng.uniform(math.log(FEW_INSECTS), math.log(MOST_INSECTS)))
        return round(places), 0.95
    slots = round(math.exp(rng.gauss(math.log(4.5), 0.8)))
    return max(1, min(FEW_INSECTS, slots)), rng.uniform(0.3, 0.9)
