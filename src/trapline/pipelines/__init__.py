"""The worker's ML pipelines: the Pipeline ABC, the built-ins and the registry that finds them.

``resolve_pipelines`` is what a worker calls with the slugs it was told to serve; see
``docs/pipelines.md`` for the built-ins, spec files and third-party pipelines. The registry
(and the ONNX runtime behind the built-ins) is imported on first use: a server that only
reads ``trapline.pipelines.base`` or one pipeline's module does not pay for the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trapline.pipelines.base import Box, Pipeline, SourceImage

if TYPE_CHECKING:
    from trapline.pipelines.registry import available_pipelines, resolve_pipelines

__all__ = ["Box", "Pipeline", "SourceImage", "available_pipelines", "resolve_pipelines"]


def __getattr__(name: str) -> Any:
    if name in ("available_pipelines", "resolve_pipelines"):
        from trapline.pipelines import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'trapline.pipelines' has no attribute {name!r}")
