"""Offering a worker's pipelines to every project its token reaches, new projects included.

A running worker registers its pipelines with each project its token lists, once per project
and process, and looks again every ``every`` seconds, so a project created later is offered
them without anyone running ``trapline worker register``. A project that refuses (the token's
account may work there but not register: a member's token) is skipped. On Antenna the worker
offers nothing by itself: there registering is a deliberate ``trapline worker register``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import httpx

from trapline.protocol.pipelines import PipelineConfig
from trapline.worker.client import ApiError, PlatformClient, Stopped

log = logging.getLogger(__name__)

#: Projects asked for per listing call.
PAGE = 100


class PipelineOffer:
    """Registers pipelines with the projects a client's token reaches, each once."""

    def __init__(
        self,
        client: PlatformClient,
        service_name: str,
        pipelines: Sequence[PipelineConfig],
        every: float,
    ) -> None:
        self.client = client
        self.service_name = service_name
        self.pipelines = list(pipelines)
        self.every = every
        self._offered: set[int] = set()
        #: Projects that refused the registration: looked at again only by a new process.
        self._refused: set[int] = set()

    def offer(self) -> list[int]:
        """Register with each project not offered yet; their ids. Failures are logged: the
        next round tries again."""
        done = []
        try:
            for project_id in self._project_ids():
                if project_id in self._offered or project_id in self._refused:
                    continue
                try:
                    answer = self.client.register(project_id, self.service_name, self.pipelines)
                except ApiError as exc:
                    if exc.status not in (403, 404, 409):
                        raise
                    self._refused.add(project_id)
                    log.warning("project %d took none of these pipelines: %s", project_id, exc)
                    continue
                for refused in answer.get("pipelines_refused") or []:
                    log.warning(
                        "project %d refused pipeline %s version %s (its jobs are not served "
                        "by this worker there): %s",
                        project_id,
                        refused.get("slug"),
                        refused.get("version"),
                        refused.get("reason"),
                    )
                self._offered.add(project_id)
                done.append(project_id)
        except (ApiError, Stopped, httpx.HTTPError) as exc:
            log.warning("could not offer the pipelines to the projects: %s", exc)
        if done:
            log.info(
                "offered %s to project %s",
                ", ".join(p.slug for p in self.pipelines),
                ", ".join(map(str, done)),
            )
        return done

    def run(self, stop: threading.Event, known: threading.Event | None = None) -> None:
        """Offer every ``every`` seconds until ``stop``; with ``known``, first wait for it
        (the first claim tells trapline from Antenna) and offer nothing on Antenna."""
        if known is not None:
            while not known.wait(0.5):
                if stop.is_set():
                    return
            if self.client.antenna:
                return
            self.offer()
        while not stop.wait(self.every):
            self.offer()

    def _project_ids(self) -> list[int]:
        ids: list[int] = []
        offset = 0
        while True:
            page = self.client.call(
                "GET", "/projects/", params={"limit": str(PAGE), "offset": str(offset)}
            )
            ids += [int(p["id"]) for p in page.get("results", [])]
            offset += PAGE
            if not page.get("next"):
                return ids
