"""One analysis: what made it, its status, parameters, artifacts and every annotation."""

from __future__ import annotations

from collections import Counter

from starlette.responses import Response

from trapline.http.params import Id
from trapline.services.callbacks import analyses
from trapline.services.photos import images, projects
from trapline.web.pages import Offset, SignedIn
from trapline.web.routes import page_router
from trapline.web.routes.images import to_blob

router = page_router()

#: Annotations listed per page.
PER_PAGE = 100


@router.get("/analyses/{analysis_id}")
def analysis_page(page: SignedIn, analysis_id: Id, offset: Offset = 0) -> Response:
    """An analysis of any origin (worker, import, external pipeline) with its results."""
    analysis, artifacts = analyses.get_analysis(page.db, page.me, analysis_id)
    image = images.get_image(page.db, page.me, analysis.image_id)
    project, role = projects.get_project(page.db, page.me, image.project_id)
    found = analysis.annotations
    return page.render(
        "analysis.html",
        project=project,
        role=role,
        image=image,
        analysis=analysis,
        artifacts=artifacts,
        by_type=sorted(Counter(a.type.value for a in found).items()),
        annotations=found[offset : offset + PER_PAGE],
        total=len(found),
        offset=offset,
        per_page=PER_PAGE,
    )


@router.get("/analyses/{analysis_id}/artifacts/{artifact_id}")
def artifact(page: SignedIn, analysis_id: Id, artifact_id: Id) -> Response:
    """One uploaded artifact: a redirect to its signed, expiring link."""
    url = analyses.artifact_url(
        page.db,
        page.platform.store,
        page.me,
        analysis_id,
        artifact_id,
        expires_in=page.platform.settings.storage.signed_url_ttl,
    )
    return to_blob(page, url)
