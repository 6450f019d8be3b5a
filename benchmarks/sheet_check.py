"""Fit moth-blobs' lit-sheet check (``min_sheet_share``, ``min_sheet_brightness``) and
cross-validate it, leaving one scene out.

A light-trap photo is mostly a smooth, bright sheet; a camera-trap scene, a close-up or a
dark frame is not. Each photo gives the two numbers of ``blob_segmentation.Sheet``. Scenes:
every light-trap photo its own (the two consecutive ``sequential-…`` frames one), the
camera-trap burst one, the close-up one, and generated photos (lit sheets with insects, a
crowded sheet, textured soil, a dark frame). For each scene left out, each cut-off is fitted on
the others in the middle of the widest gap between the least true sheet and the other photos
below it, and the left-out scene is judged by it. The defaults are the fit on every scene.

    python benchmarks/sheet_check.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

from common import print_table

from trapline.imaging.synthetic import light_trap_image
from trapline.pipelines.blob_segmentation import BlobSettings, Sheet, scan

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Photo:
    scene: str
    name: str
    lit_sheet: bool
    sheet: Sheet


def _measured(image: Image.Image) -> Sheet:
    # Cut-offs at zero: every photo is measured, none refused.
    return scan(image, BlobSettings(min_sheet_share=0.0, min_sheet_brightness=0.0)).sheet


def shared_photos(shared: Path) -> list[Photo]:
    photos = []
    for path in sorted((shared / "moth-trap-images").glob("*")):
        close_up = path.name.startswith("DSLR")  # insects on a hand, not on a sheet
        scene = "sequential" if path.name.startswith("sequential") else path.stem
        with Image.open(path) as opened:
            photos.append(Photo(scene, path.name, not close_up, _measured(opened.convert("RGB"))))
    for path in sorted((shared / "camera-trap-images").glob("*")):
        with Image.open(path) as opened:
            photos.append(Photo("heron burst", path.name, False, _measured(opened.convert("RGB"))))
    return photos


def generated_photos() -> list[Photo]:
    rng = np.random.default_rng(5)
    photos = [
        Photo(f"generated sheet {seed}", f"sheet {seed}", True, _measured(image))
        for seed, image in ((s, light_trap_image(s, 1200, 800)[0]) for s in range(3))
    ]
    crowded = light_trap_image(9, 1200, 800, insects=80)[0]
    soil = Image.fromarray(rng.integers(0, 160, (800, 1200, 3), dtype=np.uint8))
    dark = Image.fromarray(rng.integers(0, 30, (800, 1200, 3), dtype=np.uint8))
    return [
        *photos,
        Photo("generated crowded sheet", "crowded", True, _measured(crowded)),
        Photo("generated soil", "soil", False, _measured(soil)),
        Photo("generated dark frame", "dark", False, _measured(dark)),
    ]


def fit(photos: list[Photo]) -> tuple[float, float]:
    """Each cut-off in the middle of the widest gap between the least true sheet and the
    other photos below it (the photos in order of the number; a photo refused on one number
    need not be far from the sheets on the other)."""
    cuts = []
    for field in ("share", "brightness"):
        least = min(getattr(p.sheet, field) for p in photos if p.lit_sheet)
        below = sorted(getattr(p.sheet, field) for p in photos if not p.lit_sheet)
        below = [value for value in below if value < least] + [least]
        gaps = [(high - low, (low + high) / 2) for low, high in itertools.pairwise(below)]
        cuts.append(max(gaps)[1] if gaps else least)
    return cuts[0], cuts[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared/data")
    args = parser.parse_args(argv)
    photos = generated_photos()
    if (args.shared / "moth-trap-images").is_dir():
        photos = shared_photos(args.shared) + photos
    else:
        print(f"no shared photos in {args.shared}: generated photos only")
    rows = []
    for scene in dict.fromkeys(p.scene for p in photos):
        share, brightness = fit([p for p in photos if p.scene != scene])
        settings = BlobSettings(min_sheet_share=share, min_sheet_brightness=brightness)
        held = [p for p in photos if p.scene == scene]
        right = sum((p.sheet.refusal(settings) is None) == p.lit_sheet for p in held)
        rows.append([scene, len(held), f"{share:.2f}", f"{brightness:.0f}", f"{right}/{len(held)}"])
    print_table(
        "Lit-sheet check, leaving one scene out (share and brightness cut-offs fitted on the rest)",
        ["scene left out", "photos", "share cut", "brightness cut", "judged right"],
        rows,
    )
    print_table(
        "Each photo",
        ["scene", "photo", "lit sheet", "share", "brightness"],
        [
            [p.scene, p.name, p.lit_sheet, f"{p.sheet.share:.2f}", f"{p.sheet.brightness:.0f}"]
            for p in photos
        ],
    )
    share, brightness = fit(photos)
    print(f"fit on every scene: min_sheet_share={share:.2f} min_sheet_brightness={brightness:.0f}")


if __name__ == "__main__":
    main()
