"""The worker ``trapline up`` runs inside the server process, talking to it over loopback HTTP.

It serves the built-in pipelines and offers them to every project it can see, again every
``register_every`` seconds so new projects get them too. It is the fallback worker: it leaves
a job to any other worker online that serves the job's pipeline for its project
(docs/decisions/038-embedded-worker-and-remote-workers.md).
"""

from __future__ import annotations

import logging
import socket
import threading

from trapline.pipelines import Pipeline
from trapline.worker.client import PlatformClient, client_info, image_client
from trapline.worker.offering import PipelineOffer
from trapline.worker.runner import RunnerOptions, WorkLoop

log = logging.getLogger(__name__)

#: Service name the embedded worker registers its pipelines under.
SERVICE_NAME = "embedded worker"


class EmbeddedWorker:
    """A pull worker running in background threads of the server process."""

    def __init__(
        self,
        api_url: str,
        token: str,
        pipelines: list[Pipeline],
        options: RunnerOptions,
        *,
        register_every: float = 10.0,
    ) -> None:
        self._stop = threading.Event()
        self._aborted = threading.Event()
        name = f"{SERVICE_NAME} ({socket.gethostname()})"
        self.service_name = name
        self.client = PlatformClient(
            api_url,
            token,
            info=client_info(name, [p.slug for p in pipelines], fallback=True),
            stopping=self._aborted.is_set,
        )
        self._images = image_client(60.0, options.download_threads)
        self.pipelines = pipelines
        self.runner = WorkLoop(self.client, pipelines, self._images, options)
        self.offering = PipelineOffer(
            self.client, name, [p.config for p in pipelines], register_every
        )
        self._threads = [
            threading.Thread(target=self.runner.run, name="embedded-worker", daemon=True),
            threading.Thread(
                target=self.offering.run, args=(self._stop,), name="embedded-offer", daemon=True
            ),
        ]

    def start(self) -> None:
        """Offer the pipelines to the projects there are now, then start working in the
        background."""
        self.offering.offer()
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the work in hand, post it, and stop."""
        self._stop.set()
        self.runner.drain()
        self._threads[0].join(timeout)
        if not self.runner.finish(timeout):
            self._aborted.set()
            self.runner.abort()
        self.client.close()
        self._images.close()
