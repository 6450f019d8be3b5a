"""The worker's section: where the platform is, and how the worker takes and does its work.

Each field also reads the AMI Data Companion's variable where one exists; trapline's own name
wins.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr

from trapline.settings.base import Names, Paths, Section, Size


class WorkerSettings(Section):
    """The worker program (``trapline worker``, ``worker register``, ``worker serve``)."""

    #: Worker: base URL of the platform's API, with or without ``/api/v2``
    #: (also ``AMI_ANTENNA_API_BASE_URL``).
    api_url: str = Field(
        "http://127.0.0.1:8000/api/v2",
        validation_alias=AliasChoices("TRAPLINE_API_URL", "AMI_ANTENNA_API_BASE_URL"),
    )
    #: Worker: API token (a service token or a member's token; also
    #: ``AMI_ANTENNA_API_AUTH_TOKEN``).
    token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("TRAPLINE_TOKEN", "AMI_ANTENNA_API_AUTH_TOKEN")
    )
    #: Worker: tasks claimed per request (also ``AMI_ANTENNA_API_BATCH_SIZE``).
    batch_size: int = Field(
        16,
        ge=1,
        le=1000,
        validation_alias=AliasChoices("TRAPLINE_BATCH_SIZE", "AMI_ANTENNA_API_BATCH_SIZE"),
    )
    #: Worker: pipelines to serve (comma-separated slugs); empty: every pipeline it has.
    pipelines: Names = Field(default_factory=list)
    #: Worker: pipeline spec files (comma-separated paths) adding ONNX pipelines.
    pipeline_files: Paths = Field(default_factory=list)
    #: Worker: name shown on the platform; default: the host name and process id.
    name: str | None = Field(None, validation_alias="TRAPLINE_WORKER_NAME")
    #: Worker: exit when there is no work instead of waiting for more.
    burst: bool = False
    #: Worker: memory limit such as ``4G`` or ``512M``; the worker stops prefetching near it.
    max_memory: Size = None
    #: Worker: largest image it downloads, in bytes; larger ones fail their task.
    max_image_bytes: int = Field(200 * 1024 * 1024, gt=0)
    #: Worker: images with more pixels than this (or than a third of the memory budget) are
    #: decoded at a reduced size (JPEG draft mode) to bound memory; boxes stay in original
    #: pixels. Up to it, a photo reaches its pipeline whole, as MegaDetector's runner has it.
    max_decode_pixels: int = Field(100_000_000, ge=1_000_000)
    #: Worker: parallel image downloads.
    download_threads: int = Field(8, ge=1, le=128)
    #: Worker: seconds to finish the batch in hand and post its results after SIGTERM.
    drain_timeout: float = Field(60.0, gt=0)
    #: Worker: seconds between looks for projects its token reaches that it has not offered
    #: its pipelines to yet (a trapline platform, not in burst mode); 0: only
    #: ``trapline worker register`` offers them.
    register_every: float = Field(10.0, ge=0)
    #: Worker: seconds each HTTP call to the platform may take.
    request_timeout: float = Field(60.0, gt=0)
    #: Worker: directory where downloaded model weights are cached.
    weights_cache_dir: Path = Path("~/.cache/trapline/weights").expanduser()
