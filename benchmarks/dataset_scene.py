"""What the benchmark data set holds, made up deterministically: the insects on each night's
sheet (``dataset_layout.py`` says which nights there are), the photos' rows, the boxes and
classifications each pipeline posts of them, and the taxa list.

Insects land on the sheet and stay a while (twenty minutes on average), moving a little, then
fly off; a place on the sheet stays empty between them for as long as the night's crowd
(``dataset_layout.crowd``) says, so that many photos hold nothing and a crowded night's hold
up to 300. An insect is of one species (drawn from a skewed, Zipf-like choice over the list's
species, as a few species make most of a night's catch) or, one in twelve, not a moth at all.

Every pipeline posts, for each photo, a box for each insect (its own few pixels of error) with
two classifications, as the AMI pipelines do: a binary one (``moth`` / ``nonmoth``) and, for
moths, a species one (the top five of its category map, terminal) with the insect's feature
vector: ``FEATURES`` numbers, the insect's own plus a little noise of the pipeline's, packed
as the product packs a posted vector (4-byte floats, 8 KiB). So tracking links an insect's
boxes by their looks as it does on real results, without decoding a photo. A set too big for
every vector (``Variant.feature_every``) gives them to every tenth insect's boxes.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from dataset_layout import Night, layout

from trapline.domain.processing.results import AnalysisDraft, AnnotationDraft, AnnotationType, Box
from trapline.domain.taxa.taxa import ParentRef, Rank, TaxonEntry

#: Numbers in a posted feature vector (a real classifier's), and their noise between two
#: boxes of one insect.
FEATURES = 2_048
LOOKS_NOISE = 0.05
#: Species in the taxa list (with their genera, families, an order and a kingdom above them).
SPECIES = 3_000
GENERA = 300
FAMILIES = 25
#: Labels of the binary classifier; "nonmoth" takes no part in occurrences.
BINARY = ("moth", "nonmoth")
#: Labels a species classification keeps (the project's top-k).
TOP_K = 5
#: The photos' size (a 4K light-trap camera).
WIDTH, HEIGHT = 4096, 2160
#: Seconds an insect stays on the sheet, on average.
STAY_SECONDS = 20 * 60

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
    """One individual on the sheet in one photo: where it sits, what it is, which it is."""

    x: float
    y: float
    size: float
    species: int  #: index into ``species_labels``; -1: not a moth
    number: int  #: its number among the night's insects (what its looks are drawn from)


@lru_cache(maxsize=64)
def night_scene(seed: int, night: Night) -> tuple[tuple[Insect, ...], ...]:
    """The insects in each photo of a night."""
    rng = random.Random(f"{seed}-{night.station}-{night.index}")
    photos: list[list[Insect]] = [[] for _ in range(night.photos)]
    step = night.seconds / max(night.photos - 1, 1)
    empty = STAY_SECONDS * (1 - night.occupancy) / max(night.occupancy, 0.01)
    number = 0
    for _place in range(night.slots):
        t = 0.0 if rng.random() < night.occupancy else rng.expovariate(1 / empty)
        while t <= night.seconds:
            stay = rng.expovariate(1 / STAY_SECONDS)
            first, last = math.ceil(t / step), min(math.floor((t + stay) / step), night.photos - 1)
            if first <= last:
                _land(rng, photos, number, night.fauna, first, last, step)
                number += 1
            t += stay + rng.expovariate(1 / empty)
    return tuple(tuple(insects) for insects in photos)


def _land(rng: random.Random, photos: list[list[Insect]], number: int, fauna: int, first: int,
          last: int, step: float) -> None:  # fmt: skip
    """An insect on the photos ``first`` to ``last``, creeping a little (pixels a second)."""
    size = rng.uniform(60, 320)
    x, y = rng.uniform(0, WIDTH - size), rng.uniform(0, HEIGHT - size)
    vx, vy = rng.uniform(-0.02, 0.02), rng.uniform(-0.02, 0.02)
    species = (_zipf(rng) + fauna) % SPECIES if rng.random() >= 1 / 12 else -1
    for k in range(first, last + 1):
        s = (k - first) * step
        at_x = min(max(x + vx * s + rng.uniform(-2, 2), 0.0), WIDTH - size)
        at_y = min(max(y + vy * s + rng.uniform(-2, 2), 0.0), HEIGHT - size)
        photos[k].append(Insect(at_x, at_y, size, species, number))


def _zipf(rng: random.Random) -> int:
    """A species index, the first species commonest (weight 1/(k+1)), over all SPECIES."""
    # Inverse of the harmonic CDF, approximately: k ~ exp(u * ln(SPECIES + 1)) - 1.
    return min(int(math.exp(rng.random() * math.log(SPECIES + 1))) - 1, SPECIES - 1)


@lru_cache(maxsize=4096)
def looks(seed: int, station: int, night: int, number: int) -> np.ndarray:
    """An insect's own feature vector (a box's is it plus a pipeline's noise)."""
    return np.random.default_rng([seed, station, night, number]).standard_normal(
        FEATURES, dtype=np.float32
    )


def sha_of(seed: int, station: int, night: int, photo: int) -> str:
    """A photo's made-up SHA-256, from which ``scene_key`` reads where it is in the set."""
    return f"{seed:08x}{station:04x}{night:06x}{photo:05x}".ljust(64, "0")


def scene_key(sha: str) -> tuple[int, int, int]:
    """(deployment number, night, photo) of an image from its SHA-256 (``sha_of``)."""
    return int(sha[8:12], 16), int(sha[12:18], 16), int(sha[18:23], 16)


def image_rows(seed: int, night: Night, deployment_id: int) -> list[dict[str, Any]]:
    """Image rows (``ImageRepo.bulk_insert``) of one night, times and offsets as an upload
    stores them: the camera's wall-clock time, and its zone's offset then."""
    rows = []
    for photo in range(night.photos):
        taken = night.taken(photo)
        sha = sha_of(seed, night.station, night.index, photo)
        rows.append(
            {
                "deployment_id": deployment_id,
                "storage_key": f"bench/{night.station:03d}/{taken:%Y-%m-%d}/{sha}.jpg",
                "filename": f"{taken:%Y%m%d%H%M%S}-snapshot.jpg",
                "sha256": sha,
                "size_bytes": 2_400_000 + (photo * 7919) % 400_000,
                "width": WIDTH,
                "height": HEIGHT,
                "content_type": "image/jpeg",
                "captured_at": taken,
                "captured_offset_minutes": night.offset(taken),
                "source": "import",
            }
        )
    return rows


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
    #: Boxes of every ``feature_every``-th insect of a night carry a feature vector.
    feature_every: int = 1


def analysis(
    seed: int, images: int, variant: Variant, task_id: int, image_id: int,
    key: tuple[int, int, int],
) -> AnalysisDraft:  # fmt: skip
    """The analysis ``variant`` posts of the photo ``key`` (deployment number, night, photo)
    of the set of ``images`` photos."""
    station, index, photo = key
    night = layout(seed, images).night(station, index)
    insects = night_scene(seed, night)[photo]
    rng = random.Random(image_id * 1009 + variant.salt)
    noise = np.random.default_rng([image_id, variant.salt])
    boxes = tuple(_box(rng, noise, variant, seed, night, insect) for insect in insects)
    return AnalysisDraft(task_id, image_id, round(rng.uniform(0.3, 1.2), 3), "bench-worker", boxes)


def _box(rng: random.Random, noise: np.random.Generator, variant: Variant, seed: int,
         night: Night, insect: Insect) -> AnnotationDraft:  # fmt: skip
    j = variant.jitter
    x1, y1 = insect.x + rng.uniform(-j, j), insect.y + rng.uniform(-j, j)
    x2, y2 = x1 + insect.size * rng.uniform(0.95, 1.05), y1 + insect.size * rng.uniform(0.9, 1.1)
    box = Box(max(x1, 0.0), max(y1, 0.0), min(x2, float(WIDTH)), min(y2, float(HEIGHT)))
    moth = insect.species >= 0
    binary_score = round(rng.uniform(0.75, 0.99) if moth else rng.uniform(0.55, 0.95), 4)
    binary = AnnotationDraft(
        AnnotationType.CLASSIFICATION, BINARY[0] if moth else BINARY[1], binary_score, None,
        variant.binary,
        {"labels": list(BINARY if moth else BINARY[::-1]),
         "scores": [binary_score, round(1 - binary_score, 4)], "terminal": False},
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
    features = None
    if insect.number % variant.feature_every == 0:
        own = looks(seed, night.station, night.index, insect.number)
        vector = own + noise.standard_normal(FEATURES, dtype=np.float32) * np.float32(LOOKS_NOISE)
        features = vector.astype("<f4").tobytes()  # as ``features.packed`` packs a vector
    species = AnnotationDraft(
        AnnotationType.CLASSIFICATION, labels[guess], first, None, variant.species,
        {"labels": [labels[t] for t in top], "scores": scores, "terminal": True},
        features=features,
    )  # fmt: skip
    return AnnotationDraft(
        AnnotationType.BOUNDING_BOX, None, None, box, variant.detector,
        {"inference_time": 0.02}, (binary, species),
    )  # fmt: skip
