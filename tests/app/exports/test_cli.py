"""``trapline export`` and ``trapline import-megadetector`` as commands, in their own process,
on the database and files a server uses."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

from tests.support.exports import API, Seeded
from tests.support.processes import clean_env, trapline_command
from trapline.settings import Settings


def _trapline(settings: Settings, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        trapline_command(
            *args,
            "--data-dir",
            str(settings.server.data_dir),
            "--database-url",
            str(settings.db.url),
        ),
        cwd=cwd,
        env=clean_env(TRAPLINE_SECRET_KEY="test-secret-key"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_export_and_import_from_the_command_line(
    seeded: Seeded, settings: Settings, tmp_path: Path
) -> None:
    email = seeded.proto.account.email
    out = tmp_path / "out.csv"
    done = _trapline(
        settings, "export", "--project", str(seeded.project_id), "--format", "csv",
        "--output", str(out), "--as", email, "--min-confidence", "0.8", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "images" in done.stderr
    assert f"wrote {out}" in done.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))
    assert len(rows) == len([b for b in seeded.boxes if b.score >= 0.8]) > 0

    md = tmp_path / "md.json"
    made = _trapline(
        settings, "export", "--project", str(seeded.project_id), "--format", "megadetector",
        "-o", str(md), "--as", email, cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    twin = seeded.client.post(
        f"{API}/projects/", json={"name": "CLI twin"}, headers=seeded.proto.headers
    )
    twin_id = twin.json()["id"]
    twin_proto = seeded.proto.in_project(twin_id)
    twin_proto.images(1, names=[next(iter(seeded.images.values()))])
    imported = _trapline(
        settings, "import-megadetector", str(md), "--project", str(twin_id), "--as", email,
        cwd=tmp_path,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    report = json.loads(imported.stdout)
    assert report["matched"] == 1
    assert report["unmatched"] == 8

    refused = _trapline(
        settings, "export", "--project", str(seeded.project_id), "--format", "pdf", cwd=tmp_path
    )
    assert refused.returncode == 2
    assert "pdf" in refused.stderr
    stranger = _trapline(
        settings, "export", "--project", str(seeded.project_id), "--format", "csv",
        "--as", "nobody@example.org", cwd=tmp_path,
    )  # fmt: skip
    assert stranger.returncode == 1
    assert "no account nobody@example.org" in stranger.stderr


def test_export_prints_its_warnings_and_fails_when_nothing_was_written(
    seeded: Seeded, settings: Settings, tmp_path: Path
) -> None:
    email = seeded.proto.account.email
    package = tmp_path / "package.zip"
    warned = _trapline(
        settings, "export", "--project", str(seeded.project_id), "--format", "camtrap-dp",
        "-o", str(package), "--as", email, cwd=tmp_path,
    )  # fmt: skip
    assert warned.returncode == 0, warned.stderr
    assert "warning: " in warned.stderr
    assert "names no licence" in warned.stderr
    assert package.stat().st_size > 0

    empty = tmp_path / "empty.csv"
    nothing = _trapline(
        settings, "export", "--project", str(seeded.project_id), "--format", "csv",
        "--from", "2030-01-01", "-o", str(empty), "--as", email, cwd=tmp_path,
    )  # fmt: skip
    assert nothing.returncode == 1, nothing.stderr
    assert (
        "warning: no results in the file: no image matched the export's filters" in nothing.stderr
    )
    assert "has no rows: nothing was written" in nothing.stderr
    kept = _trapline(
        settings, "export", "--project", str(seeded.project_id), "--format", "csv",
        "-o", str(tmp_path / "kept.csv"), "--as", email, cwd=tmp_path,
    )  # fmt: skip
    assert kept.returncode == 0, kept.stderr
    assert "\nwarning: " not in kept.stderr
