"""The worker's ML pipelines: the Pipeline ABC, the built-ins and the registry that finds them.

``resolve_pipelines`` is what a worker calls with the slugs it was told to serve; see
``docs/pipelines.md`` for the built-ins, spec files and third-party pipelines.
"""

from trapline.pipelines.base import Box, Pipeline, SourceImage
from trapline.pipelines.registry import available_pipelines, resolve_pipelines

__all__ = ["Box", "Pipeline", "SourceImage", "available_pipelines", "resolve_pipelines"]
