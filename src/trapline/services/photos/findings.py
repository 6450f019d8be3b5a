"""Working out again what photos' current results found, for projects marked for it.

A version pinned or unpinned changes which results are current for every photo of a project at
once; so does upgrading to the release that began keeping findings. Such a project is marked
(``db/photo_findings.py``), and the findings duty (or ``trapline admin rebuild-findings``) works
its photos out again a batch at a time, each batch its own transaction, so a server stopped
midway goes on from the last batch. The grid's result filters read the results themselves
meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from trapline.db.engine import Database
from trapline.db.photo_findings import findings_kept, projects_rebuilding, rebuild_step
from trapline.domain.core.duties import NEVER, Stop
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.services.core.access import project_for

log = logging.getLogger(__name__)

#: Seconds between runs of the findings duty.
FINDINGS_INTERVAL = 5.0


@dataclass(frozen=True)
class Rebuilt:
    """Where a project's rebuild got to: photos up to ``reached`` are done (None: all)."""

    project_id: int
    reached: int | None


def rebuild_findings(
    db: Database,
    *,
    project_id: int | None = None,
    stop: Stop = NEVER,
    progress: Callable[[Rebuilt], None] | None = None,
) -> list[int]:
    """Work out the findings of every photo of the projects marked for it (or of one of
    them), until done or ``stop``; the projects finished."""
    with db.read() as repos:
        due = [
            (p, after)
            for p, after in projects_rebuilding(repos.session)
            if project_id is None or p == project_id
        ]
    finished = []
    for project, after in due:
        reached: int | None = after
        try:
            while reached is not None and not stop.is_set():
                with db.write() as repos:
                    reached = rebuild_step(repos.session, project, reached)
                if progress is not None:
                    progress(Rebuilt(project, reached))
        except Exception:
            # One project's failure holds up no other; it goes on from its last batch next run.
            log.exception("findings of project %s: a batch after photo %s failed", project, reached)
            continue
        if reached is None:
            log.info("findings of project %s worked out again", project)
            finished.append(project)
    return finished


def catching_up(db: Database, caller: User, project_id: int) -> bool:
    """Whether the project's findings are being worked out again (viewers of it): its result
    filters read every current result meanwhile, which a big project feels."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return not findings_kept(repos.session, project_id)
