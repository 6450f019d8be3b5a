"""A big export written by several processes (``background/export_parts.py``): the Camtrap DP
package and the Darwin Core Archive made of parts are the files one process makes, byte for
byte but for their creation time; no event is cut between two parts; a process that fails or
dies fails the export, and a canceled export stops its processes. The runner of the app under test
is told to write every export in parts (``parts_from`` 0), so these run on a few dozen photos."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Self

import pytest
from sqlalchemy import select

from tests.support.camtrap_scene import build_camtrap_scene
from tests.support.exports import Seeded, seed_project
from tests.support.protocol_client import Protocol
from tests.support.scenes import API, heron
from tests.support.standards import validate_camtrap_dp
from tests.support.waiting import wait_until
from trapline.background import exports as runner_module
from trapline.background.export_parts import PartsRun, Segment
from trapline.db.tables import ImageEventRow
from trapline.exports.camtrap_dp import CamtrapDpWriter
from trapline.exports.reader import ExportContext

#: A FIFO that ``_Stuck`` segments open for reading: they wait there until terminated.
STUCK_AT = "TRAPLINE_TEST_STUCK_AT"


def _scene(proto: Protocol) -> Seeded:
    """Three scenes in one project, 28 photos: the camtrapR scene (its two stations without
    coordinates, so left out with a problem, and each photo an event of its own), the heron of
    ten frames in one event, with its occurrences, and two traps with a job's results."""
    build_camtrap_scene(proto)
    heron(proto)
    return seed_project(proto)


def _files(seeded: Seeded, fmt: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """An export's record and its files, the times it was made at left out."""
    done = seeded.export(format=fmt)
    assert done["status"] == "succeeded", done
    archive = zipfile.ZipFile(io.BytesIO(seeded.download(done["id"])))
    files = {name: archive.read(name) for name in archive.namelist()}
    if fmt == "camtrap-dp":
        described = json.loads(files["datapackage.json"])
        described.pop("created")
        files["datapackage.json"] = json.dumps(described).encode()
    else:
        made = re.sub(rb"<pubDate>[^<]*</pubDate>", b"", files["eml.xml"])
        files["eml.xml"] = re.sub(rb'packageId="[^"]*"', b"", made)
    return done, files


class _Counted(PartsRun):
    """The segments each run was given."""

    given: list[list[Segment]] = []

    def __init__(self, *args: Any, **options: Any) -> None:
        _Counted.given.append(args[4])
        super().__init__(*args, **options)


@pytest.mark.parametrize("fmt", ["camtrap-dp", "dwca"])
def test_a_file_in_parts_is_the_file_of_one_process(
    proto: Protocol, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    seeded = _scene(proto)
    runner = proto.platform.exports
    whole, whole_files = _files(seeded, fmt)
    monkeypatch.setattr(runner, "processes", 2)
    monkeypatch.setattr(runner, "parts_from", 0)
    monkeypatch.setattr(runner_module, "PartsRun", _Counted)
    _Counted.given.clear()
    parts, parts_files = _files(seeded, fmt)

    (segments,) = _Counted.given
    assert len(segments) > 2
    assert segments[0].after_id == 0
    assert [s.after_id for s in segments[1:]] == [s.up_to for s in segments[:-1]]
    with proto.platform.db.read() as repos:
        links = repos.session.execute(select(ImageEventRow.event_id, ImageEventRow.image_id))
        part_of: dict[int, set[int]] = {}
        for event, image in links:
            part_of.setdefault(event, set()).update(
                s.index for s in segments if s.after_id < image <= s.up_to
            )
    assert part_of
    assert all(len(found) == 1 for found in part_of.values()), part_of

    assert parts_files == whole_files
    assert parts["counts"] == whole["counts"]
    assert parts["counts"]["rows"] > 10
    assert parts["images_done"] == whole["images_done"] == 28
    # The stations without coordinates are named once each, however many parts saw them.
    assert parts["errors"] == whole["errors"]
    assert sum("has no latitude and longitude" in e for e in parts["errors"]) == 2
    if fmt == "camtrap-dp":
        archive = zipfile.ZipFile(io.BytesIO(seeded.download(parts["id"])))
        archive.extractall(tmp_path)
        assert validate_camtrap_dp(tmp_path) == []


@pytest.mark.parametrize("fmt", ["csv", "coco", "megadetector"])
def test_a_format_not_written_in_parts_stays_in_one_process(
    proto: Protocol, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    seeded = _scene(proto)
    runner = proto.platform.exports
    monkeypatch.setattr(runner, "processes", 2)
    monkeypatch.setattr(runner, "parts_from", 0)
    monkeypatch.setattr(runner_module, "PartsRun", _Counted)
    _Counted.given.clear()
    done = seeded.export(format=fmt)
    assert done["status"] == "succeeded", done
    assert done["images_done"] == 28
    assert done["counts"]["rows"] > 10
    assert _Counted.given == []


class _Broken(CamtrapDpWriter):
    """A format whose segments fail."""

    @classmethod
    def for_part(cls, stem: Path, context: ExportContext) -> Self:
        raise RuntimeError("the disk is full")


class _Dying(CamtrapDpWriter):
    """A format whose segments' process dies (killed, out of memory) without a word."""

    @classmethod
    def for_part(cls, stem: Path, context: ExportContext) -> Self:
        os._exit(3)


class _Stuck(CamtrapDpWriter):
    """A format whose segments wait until their process is stopped."""

    @classmethod
    def for_part(cls, stem: Path, context: ExportContext) -> Self:
        with open(os.environ[STUCK_AT], "rb"):  # a FIFO: opening it waits
            raise AssertionError("nobody writes to this FIFO")


@pytest.mark.parametrize("writer", [_Broken, _Dying], ids=["an-error", "a-dead-process"])
def test_a_failing_part_fails_the_export_and_leaves_nothing(
    proto: Protocol, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, writer: type
) -> None:
    seeded = seed_project(proto)
    runner = proto.platform.exports
    monkeypatch.setattr(runner, "processes", 2)
    monkeypatch.setattr(runner, "parts_from", 0)
    monkeypatch.setattr(runner_module, "writer_for", lambda _: writer)
    temporary = tmp_path / "temporary"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    done = seeded.export(format="camtrap-dp")
    assert done["status"] == "failed", done
    assert done["error"] == "internal error (RuntimeError); see the server log"
    assert list(temporary.iterdir()) == []  # the parts' folder went with the export
    assert multiprocessing.active_children() == []


def test_a_canceled_export_stops_its_processes(
    proto: Protocol, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seeded = seed_project(proto)
    runner = proto.platform.exports
    fifo = tmp_path / "never"
    os.mkfifo(fifo)
    monkeypatch.setenv(STUCK_AT, str(fifo))
    monkeypatch.setattr(runner, "processes", 2)
    monkeypatch.setattr(runner, "parts_from", 0)
    monkeypatch.setattr(runner_module, "writer_for", lambda _: _Stuck)
    made = seeded.create(format="camtrap-dp").json()
    headers = seeded.proto.headers
    wait_until(lambda: len(multiprocessing.active_children()) == 2, "the export's processes")
    canceled = seeded.client.post(f"{API}/exports/{made['id']}/cancel", headers=headers)
    assert canceled.status_code == 200, canceled.text
    final = seeded.wait(made["id"])
    assert final["status"] == "canceled"
    assert multiprocessing.active_children() == []
