"""The duty that fails callback analyses a pipeline went silent on, and forgets the signatures
of calls too old to be replayed."""

from __future__ import annotations

import logging
from datetime import timedelta

from trapline.clock import Clock
from trapline.db.engine import Database
from trapline.settings import CallbackSettings

log = logging.getLogger(__name__)

#: Seconds between runs of the duty that fails stuck callback analyses.
STUCK_ANALYSIS_INTERVAL = 60.0
#: Reason a stuck callback analysis is failed with.
STUCK_REASON = "no word from the pipeline for {seconds:g} s while queued or processing; failed"


def fail_stuck_analyses(db: Database, settings: CallbackSettings, clock: Clock) -> None:
    """Fail callback analyses left queued or processing too long; forget old signatures."""
    now = clock.now()
    seconds = settings.stuck_analysis_seconds
    reason = STUCK_REASON.format(seconds=seconds)
    with db.write() as repos:
        failed = repos.processing.analyses.fail_stale(now - timedelta(seconds=seconds), reason, now)
        repos.callbacks.callbacks.forget_signatures(now)
    if failed:
        log.warning("failed %d stuck callback analyses: %s", len(failed), failed[:20])
