"""The worker ``trapline up`` runs inside the server process, talking to it over loopback HTTP.

It serves the built-in pipelines and registers them with every project it can see, again
every ``register_every`` seconds so new projects get them too.
"""

from __future__ import annotations

import logging
import socket
import threading

import httpx

from trapline.pipelines import Pipeline
from trapline.worker.client import ApiError, PlatformClient, Stopped, client_info, image_client
from trapline.worker.runner import Runner, RunnerOptions

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
            info=client_info(name, [p.slug for p in pipelines]),
            stopping=self._aborted.is_set,
        )
        self._images = image_client(60.0, options.download_threads)
        self.pipelines = pipelines
        self.runner = Runner(self.client, pipelines, self._images, options)
        self._register_every = register_every
        self._registered: set[int] = set()
        self._threads = [
            threading.Thread(target=self.runner.run, name="embedded-worker", daemon=True),
            threading.Thread(target=self._register_loop, name="embedded-register", daemon=True),
        ]

    def start(self) -> None:
        """Register with the projects there are now, then start working in the background."""
        self.register_everywhere()
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

    def register_everywhere(self) -> list[int]:
        """Register the pipelines with each project not registered yet; their ids."""
        configs = [p.config for p in self.pipelines]
        done = []
        try:
            for project_id in self._project_ids():
                if project_id in self._registered:
                    continue
                self.client.register(project_id, self.service_name, configs)
                self._registered.add(project_id)
                done.append(project_id)
        except (ApiError, Stopped, httpx.HTTPError) as exc:
            log.warning("embedded worker could not register its pipelines: %s", exc)
        return done

    def _project_ids(self) -> list[int]:
        ids: list[int] = []
        offset = 0
        while True:
            page = self.client.call(
                "GET", "/projects/", params={"limit": "100", "offset": str(offset)}
            )
            ids += [int(p["id"]) for p in page.get("results", [])]
            offset += 100
            if not page.get("next"):
                return ids

    def _register_loop(self) -> None:
        while not self._stop.wait(self._register_every):
            self.register_everywhere()
