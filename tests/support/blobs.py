"""What the local blob store holds, as keys."""

from __future__ import annotations

from trapline.settings import Settings


def blob_files(settings: Settings) -> list[str]:
    """Every file in the local blob store, as keys."""
    root = settings.server.data_dir / "blobs"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
