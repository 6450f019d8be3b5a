"""What the benchmark data set holds, made up deterministically: light-trap nights, the insects
on the sheet, the boxes and classifications each pipeline posts of them, and the taxa list.

A deployment photographs its sheet ``PHOTOS_PER_NIGHT`` times a night, every five minutes from
20:00. ``BOXES_PER_PHOTO`` insects sit on the sheet at any time; each stays a few photos (one
to twelve, four on average), moving a few pixels, then flies off and another lands elsewhere.
An insect is of one species (drawn from a skewed, Zipf-like choice over the list's species, as
a few species make most of a night's catch) or, one in twelve, not a moth at all.

Every pipeline posts, for each photo, a box for each insect (its own few pixels of error) with
two classifications, as the AMI pipelines do: a binary one (``moth`` / ``nonmoth``) and, for
moths, a species one (the top five of its category map, terminal). Both carry the insect's feature
vector (``FEATURES`` numbers: real pipelines post 2,048, which would make the data set mostly
JSON; tracking reads them the same way), so tracking links an insect's boxes by their looks
as it does on real results, without decoding a photo.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from trapline.domain.processing.results import AnalysisDraft, AnnotationDraft, AnnotationType, Box
from trapline.domain.taxa.taxa import ParentRef, Rank, TaxonEntry

#: Camera stations of the project.
DEPLOYMENTS = 10
#: Photos each deployment takes a night.
PHOTOS_PER_NIGHT = 100
#: Insects on the sheet in every photo (boxes per photo and pipeline).
BOXES_PER_PHOTO = 2
#: Numbers in a posted feature vector.
FEATURES = 16
#: Species in the taxa list (with their genera, families, an order and a kingdom above them).
SPECIES = 3_000
GENERA = 300
FAMILIES = 25
#: Labels of the binary classifier; "nonmoth" takes no part in occurrences.
BINARY = ("moth", "nonmoth")
#: Labels a species classification keeps (the project's top-k).
TOP_K = 5
#: The first night, and the photos' size (a 4K light-trap camera).
FIRST_NIGHT = datetime(2023, 4, 1, 20, 0)
WIDTH, HEIGHT = 4096, 2160

_SYLLABLES = ("ar", "bo", "ce", "di", "fu", "ga", "hi", "lo", "mu", "ne", "or", "pa", "ri",
              "sa", "te", "ul", "va", "xe", "yo", "zi")  # fmt: skip


def _word(n: int, syllables: int) -> str:
    parts = []
    for _ in range(syllables):
        n, k = divmod(n, len(_SYLLABLES))
        parts.append(_SYLLABLES[k])
    return "".join(parts)


def genus_name(g: int) -> str:
    return (_word(g * 7 + 3, 3) + "ia").capitalize()


def species_name(s: int) -> str:
    """The scientific name of species ``s`` (its genus is ``s % GENERA``)."""
    return f"{genus_name(s % GENERA)} {_word(s * 13 + 5, 3)}a"


@lru_cache(maxsize=1)
def species_labels() -> tuple[str, ...]:
    """The species classifier's category map: every species of the list, in index order."""
    return tuple(species_name(s) for s in range(SPECIES))


def taxa_entries() -> list[TaxonEntry]:
    """The taxa list, parents first: Animalia, Lepidoptera, the families, genera and species."""
    entries = [
        TaxonEntry(1, "Animalia", Rank.KINGDOM, None),
        TaxonEntry(2, "Lepidoptera", Rank.ORDER, ParentRef("Animalia")),
    ]
    for f in range(FAMILIES):
        name = (_word(f * 11 + 1, 2) + "idae").capitalize()
        entries.append(TaxonEntry(0, name, Rank.FAMILY, ParentRef("Lepidoptera")))
    families = [e.scientific_name for e in entries[2:]]
    for g in range(GENERA):
        entries.append(TaxonEntry(0, genus_name(g), Rank.GENUS, ParentRef(families[g % FAMILIES])))
    for s, name in enumerate(species_labels()):
        entries.append(
            TaxonEntry(
                0, name, Rank.SPECIES, ParentRef(genus_name(s % GENERA)),
                vernacular={"en": f"{_word(s, 2)} moth"},
            )
        )  # fmt: skip
    return [TaxonEntry(n + 1, *_fields(e)) for n, e in enumerate(entries)]


def _fields(entry: TaxonEntry) -> tuple[Any, ...]:
    return (entry.scientific_name, entry.rank, entry.parent, None, None, None, entry.vernacular)


# -- nights and the insects in them -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Insect:
    """One individual on the sheet: where it sits, what it is, what it looks like."""

    x: float
    y: float
    size: float
    species: int  #: index into ``species_labels``; -1: not a moth
    looks: tuple[float, ...]


def photo_time(night: int, photo: int) -> datetime:
    return FIRST_NIGHT + timedelta(days=night, minutes=5 * photo)


@lru_cache(maxsize=64)
def night_scene(seed: int, deployment: int, night: int) -> tuple[tuple[Insect, ...], ...]:
    """The insects of each photo of one deployment's night: ``BOXES_PER_PHOTO`` per photo."""
    rng = random.Random(f"{seed}-{deployment}-{night}")
    photos: list[list[Insect]] = [[] for _ in range(PHOTOS_PER_NIGHT)]
    for _slot in range(BOXES_PER_PHOTO):
        p = 0
        while p < PHOTOS_PER_NIGHT:
            stay = min(1 + int(rng.expovariate(1 / 3)), 12)
            size = rng.uniform(60, 320)
            x, y = rng.uniform(0, WIDTH - size), rng.uniform(0, HEIGHT - size)
            moth = rng.random() >= 1 / 12
            species = _zipf(rng) if moth else -1
            looks = _unit([rng.gauss(0, 1) for _ in range(FEATURES)])
            for k in range(p, min(p + stay, PHOTOS_PER_NIGHT)):
                dx, dy = rng.uniform(-4, 4), rng.uniform(-4, 4)
                photos[k].append(Insect(x + dx * (k - p), y + dy * (k - p), size, species, looks))
            p += stay
    return tuple(tuple(insects) for insects in photos)


def _zipf(rng: random.Random) -> int:
    """A species index, the first species commonest (weight 1/(k+1)), over all SPECIES."""
    # Inverse of the harmonic CDF, approximately: k ~ exp(u * ln(SPECIES + 1)) - 1.
    return min(int(math.exp(rng.random() * math.log(SPECIES + 1))) - 1, SPECIES - 1)


def _unit(vector: list[float]) -> tuple[float, ...]:
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return tuple(round(v / norm, 4) for v in vector)


def image_rows(
    seed: int, deployment: int, deployment_id: int, nights: range
) -> list[dict[str, Any]]:
    """Image rows (``ImageRepo.bulk_insert``) of one deployment's nights."""
    rows = []
    for night in nights:
        for photo in range(PHOTOS_PER_NIGHT):
            taken = photo_time(night, photo)
            name = f"trap{deployment:02d}-{taken:%Y%m%d%H%M%S}.jpg"
            sha = f"{seed:08x}{deployment:04x}{night:06x}{photo:04x}".ljust(64, "0")
            rows.append(
                {
                    "deployment_id": deployment_id,
                    "storage_key": f"bench/{sha[:2]}/{sha}.jpg",
                    "filename": name,
                    "sha256": sha,
                    "size_bytes": 2_400_000 + (photo * 7919) % 400_000,
                    "width": WIDTH,
                    "height": HEIGHT,
                    "content_type": "image/jpeg",
                    "captured_at": taken,
                    "captured_offset_minutes": 0,
                    "source": "import",
                }
            )
    return rows


def scene_key(filename: str) -> tuple[int, int, int]:
    """(deployment, night, photo) of an image from its name (``image_rows``)."""
    deployment = int(filename[4:6])
    taken = datetime.strptime(filename[7:21], "%Y%m%d%H%M%S")
    night = (taken - FIRST_NIGHT).days
    photo = round((taken - photo_time(night, 0)).total_seconds() / 300)
    return deployment, night, photo


# -- what a pipeline posts ------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """A pipeline version as the generator runs it: its algorithms' ids and its own errors."""

    detector: int
    binary: int
    species: int
    #: How far its boxes stray (pixels) and how often its species guess is wrong.
    jitter: float
    wrong: float
    salt: int


def analysis(
    seed: int, variant: Variant, task_id: int, image_id: int, key: tuple[int, int, int]
) -> AnalysisDraft:
    """The analysis ``variant`` posts of the photo ``key`` (deployment, night, photo)."""
    deployment, night, photo = key
    insects = night_scene(seed, deployment, night)[photo]
    rng = random.Random(image_id * 1009 + variant.salt)
    boxes = tuple(_box(rng, variant, insect) for insect in insects)
    return AnalysisDraft(task_id, image_id, round(rng.uniform(0.3, 1.2), 3), "bench-worker", boxes)


def _box(rng: random.Random, variant: Variant, insect: Insect) -> AnnotationDraft:
    j = variant.jitter
    x1, y1 = insect.x + rng.uniform(-j, j), insect.y + rng.uniform(-j, j)
    x2, y2 = x1 + insect.size * rng.uniform(0.95, 1.05), y1 + insect.size * rng.uniform(0.9, 1.1)
    box = Box(max(x1, 0.0), max(y1, 0.0), min(x2, float(WIDTH)), min(y2, float(HEIGHT)))
    looks = [round(v + (rng.random() - 0.5) * 0.04, 4) for v in insect.looks]
    moth = insect.species >= 0
    binary_score = round(rng.uniform(0.75, 0.99) if moth else rng.uniform(0.55, 0.95), 4)
    binary = AnnotationDraft(
        AnnotationType.CLASSIFICATION, BINARY[0] if moth else BINARY[1], binary_score, None,
        variant.binary,
        {"labels": list(BINARY if moth else BINARY[::-1]),
         "scores": [binary_score, round(1 - binary_score, 4)], "terminal": False,
         "features": looks},
    )  # fmt: skip
    if not moth:  # the species classifier runs on moths only
        return AnnotationDraft(
            AnnotationType.BOUNDING_BOX, None, None, box, variant.detector,
            {"inference_time": 0.02}, (binary,),
        )  # fmt: skip
    labels = species_labels()
    guess = insect.species
    if rng.random() < variant.wrong:
        guess = rng.randrange(SPECIES)
    top = [guess, *(rng.randrange(SPECIES) for _ in range(TOP_K - 1))]
    first = round(rng.uniform(0.35, 0.97), 4)
    scores = [
        first,
        *sorted((round(rng.uniform(0, 1 - first) / 2, 4) for _ in top[1:]), reverse=True),
    ]
    species = AnnotationDraft(
        AnnotationType.CLASSIFICATION, labels[guess], first, None, variant.species,
        {"labels": [labels[t] for t in top], "scores": scores, "terminal": True,
         "features": looks},
    )  # fmt: skip
    return AnnotationDraft(
        AnnotationType.BOUNDING_BOX, None, None, box, variant.detector,
        {"inference_time": 0.02}, (binary, species),
    )  # fmt: skip
