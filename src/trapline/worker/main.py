"""What the ``trapline worker`` commands do, given settings: work, register, serve.

Imports only the worker's side of trapline (protocol, settings, errors, pipelines, worker and
the stdlib-only ``logs``), so a worker installs and starts without the platform's stack.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from types import FrameType

from trapline.errors import InvalidInput
from trapline.logs import configure_logging
from trapline.pipelines import Pipeline, resolve_pipelines
from trapline.protocol.pipelines import PipelineConfig
from trapline.settings import Settings, WorkerSettings
from trapline.worker.client import ApiError, PlatformClient, Stopped, client_info, image_client
from trapline.worker.memory import tune_allocator
from trapline.worker.offering import PipelineOffer
from trapline.worker.runner import RunnerOptions, WorkLoop

log = logging.getLogger("trapline.worker")


def load_pipelines(settings: WorkerSettings) -> list[Pipeline]:
    """The pipelines the settings ask for (all available ones when none are named)."""
    return resolve_pipelines(
        settings.pipelines, settings.pipeline_files, cache_dir=settings.weights_cache_dir
    )


def platform_client(
    settings: WorkerSettings, pipelines: list[Pipeline], runner_aborted: threading.Event
) -> PlatformClient:
    """The client for the platform's API with this worker's identity."""
    if settings.token is None or not settings.token.get_secret_value():
        raise InvalidInput(
            "no API token: pass --token or set TRAPLINE_TOKEN (or AMI_ANTENNA_API_AUTH_TOKEN)"
        )
    return PlatformClient(
        settings.api_url,
        settings.token.get_secret_value(),
        info=client_info(settings.name, [p.slug for p in pipelines]),
        timeout=settings.request_timeout,
        stopping=runner_aborted.is_set,
    )


def service_name(settings: WorkerSettings) -> str:
    """The processing service a worker registers its pipelines under."""
    return f"{settings.name or 'trapline worker'} ({socket.gethostname()})"


def run_worker(settings: Settings) -> int:
    """Work until SIGTERM/SIGINT (or, with ``--burst``, until there is no work); exit code."""
    configure_logging(settings.logs.level, settings.logs.format)
    tune_allocator()
    pipelines = load_pipelines(settings.worker)
    aborted = threading.Event()
    client = platform_client(settings.worker, pipelines, aborted)
    images = image_client(settings.worker.request_timeout, settings.worker.download_threads)
    runner = WorkLoop(
        client,
        pipelines,
        images,
        RunnerOptions.from_settings(settings.worker),
    )
    drain_deadline: list[float] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if drain_deadline:
            log.warning("second %s: exiting now; leases in hand will expire", _name(signum))
            os._exit(128 + signum)
        drain_deadline.append(time.monotonic() + settings.worker.drain_timeout)
        log.info(
            "%s: finishing the work in hand (up to %.0fs); send it again to exit now",
            _name(signum),
            settings.worker.drain_timeout,
        )
        runner.drain()
        threading.Thread(target=_abort_after, args=(runner, aborted, settings), daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stopped = threading.Event()  # ends the offers
    if not settings.worker.burst and settings.worker.register_every > 0:
        # A burst worker drains jobs there are, whose pipelines are registered already.
        offer = PipelineOffer(
            client,
            service_name(settings.worker),
            [p.config for p in pipelines],
            settings.worker.register_every,
        )
        threading.Thread(
            target=offer.run, args=(stopped, client.known), name="offer", daemon=True
        ).start()
    log.info(
        "worker %s serving %s for %s",
        client.info.name,
        ", ".join(p.slug for p in pipelines),
        client.base,
    )
    try:
        runner.run()
        stopped.set()
        remaining = drain_deadline[0] - time.monotonic() if drain_deadline else None
        flushed = runner.finish(remaining)
    finally:
        stopped.set()
        client.close()
        images.close()
    if runner.refusal is not None:
        log.error("%s", refusal_message(runner.refusal, client))
    unposted = runner.unposted() if runner.aborted() else 0
    if unposted or not flushed:
        log.error(
            "stopped before every result was posted (%s); their tasks will be handed out again",
            f"{unposted} in hand" if unposted else "posts still under way",
        )
        return 1
    return 1 if runner.refusal is not None else 0


#: How a worker gets a token it may work with, said whenever a platform refuses one.
GETTING_IN = (
    "A worker needs a service token for the projects it works for: a project manager makes "
    "one with POST /api/v2/projects/{id}/service-tokens/ (an admin on the server: trapline "
    "admin create-service-token --project ID --name NAME), and the worker takes it from "
    "TRAPLINE_TOKEN or --token. On Antenna, use the token of an account that may run the "
    "project's jobs."
)


def refusal_message(refusal: ApiError, client: PlatformClient) -> str:
    """Why the worker stopped, and what to do about it."""
    if refusal.status == 401:
        return f"{client.base} did not take this worker's token ({refusal}). {GETTING_IN}"
    if refusal.status == 403:
        return (
            f"{client.base} refused this worker's token for the worker protocol ({refusal}). "
            f"{GETTING_IN}"
        )
    return f"{client.base} refused to hand out work: {refusal}"


def _abort_after(runner: WorkLoop, aborted: threading.Event, settings: Settings) -> None:
    time.sleep(settings.worker.drain_timeout)
    log.error("drain timeout of %.0fs passed; giving up", settings.worker.drain_timeout)
    aborted.set()
    runner.abort()


def run_register(settings: Settings, *, projects: list[int]) -> int:
    """Register the pipelines with each project and print what happened; exit code."""
    configure_logging(settings.logs.level, settings.logs.format)
    pipelines = load_pipelines(settings.worker)
    name = service_name(settings.worker)
    client = platform_client(settings.worker, pipelines, threading.Event())
    configs = [p.config for p in pipelines]
    failures = 0
    try:
        for project in projects:
            try:
                answer = client.register(project, name, configs)
            except (ApiError, Stopped) as exc:
                failures += 1
                hint = f" {GETTING_IN}" if isinstance(exc, ApiError) and exc.status == 401 else ""
                print(f"project {project}: registration failed: {exc}.{hint}", file=sys.stderr)
                continue
            # Antenna names no service id, may list a slug more than once and lists the keys of
            # algorithms new to a pipeline among the created pipelines: name pipelines only.
            created = _named(configs, answer.get("pipelines_created"))
            updated = _named(configs, answer.get("pipelines_updated"))
            there = [c.slug for c in configs if c.slug not in created and c.slug not in updated]
            service_id = answer.get("processing_service_id")
            for refused in answer.get("pipelines_refused") or []:
                failures += 1
                print(
                    f"project {project}: pipeline {refused.get('slug')} version "
                    f"{refused.get('version')} refused: {refused.get('reason')}",
                    file=sys.stderr,
                )
            print(
                f"project {project}: service {name!r}"
                + (f" (id {service_id})" if service_id is not None else "")
                + f"; created: {', '.join(created) or 'none'}"
                f"; updated: {', '.join(updated) or 'none'}"
                f"; already there: {', '.join(there) or 'none'}"
            )
    finally:
        client.close()
    return 1 if failures else 0


def _named(configs: list[PipelineConfig], listed: list[str] | None) -> list[str]:
    """The registered pipelines' slugs a registration answer lists, each once, in order."""
    slugs = {c.slug for c in configs}
    return [s for s in dict.fromkeys(listed or []) if s in slugs]


def run_service(settings: Settings) -> int:
    """Serve the pipelines as a synchronous processing service until stopped; exit code."""
    from trapline.worker.service_http import serve

    configure_logging(settings.logs.level, settings.logs.format)
    serve(load_pipelines(settings.worker), settings)
    return 0


def _name(signum: int) -> str:
    return signal.Signals(signum).name
