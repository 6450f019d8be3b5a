"""A project's labels: the labels of its occurrences, most used first and a page at a time,
with how many carry each and the taxon it stands for; members map a label to a taxon, mark it
as no object, or clear a person's word."""

from __future__ import annotations

from starlette.responses import Response

from trapline.domain.core.roles import Role
from trapline.errors import InvalidInput
from trapline.http.params import Id
from trapline.services.ecology import counting
from trapline.services.photos import projects
from trapline.services.taxa import taxa
from trapline.web.pages import Offset, Page, PostedForm, SignedIn
from trapline.web.routes import page_router
from trapline.web.routes.identify import form_offset
from trapline.web.routes.taxa import pick_taxon, taxon_names

router = page_router()

#: How a mapping was made, in words.
HOW = {
    "person": "set by a person",
    "name": "the label is its scientific name",
    "category_map": "the pipeline's category map",
    "no_object": "a label known to mean no object",
}
#: What a label form's buttons ask for.
ACTIONS = ("taxon", "no_object", "clear")
#: Labels a page shows.
PER_PAGE = 100


@router.get("/projects/{project_id}/labels")
def labels_page(page: SignedIn, project_id: Id, offset: Offset = 0) -> Response:
    """The labels of the project's occurrences and what each stands for, a page at a time."""
    return _render(page, project_id, offset)


def _render(
    page: Page,
    project_id: int,
    offset: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    project, role = projects.get_project(page.db, page.me, project_id)
    total, mappings = counting.label_mappings(
        page.db, page.me, project_id, limit=PER_PAGE, offset=offset
    )
    named = taxon_names(page, project_id, {m.taxon_id for m in mappings if m.taxon_id})
    return page.render(
        "labels.html",
        status=status,
        project=project,
        role=role,
        mappings=mappings,
        named=named,
        has_list=taxa.project_list(page.db, page.me, project_id) is not None,
        how_words=HOW,
        can_map=role.allows(Role.MEMBER),
        errors=errors or {},
        values=values or {},
        total=total,
        offset=offset,
        per_page=PER_PAGE,
        base=f"/projects/{project_id}/labels",
    )


@router.post("/projects/{project_id}/labels")
def map_label(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """Map a label to the taxon picked, mark it as no object, or clear a person's mapping."""
    label = str(form.get("label") or "")
    action = str(form.get("action") or "taxon")
    offset = form_offset(form.get("offset"))
    text = str(form.get("taxon") or "")
    try:
        if action not in ACTIONS:
            raise InvalidInput(f"action: one of {', '.join(ACTIONS)} (got {action[:20]!r})")
        taxon_id = pick_taxon(page, project_id, text, "taxon").id if action == "taxon" else None
        taxa.map_label(
            page.db,
            page.me,
            project_id,
            label,
            taxon_id=taxon_id,
            non_object=action == "no_object",
        )
    except InvalidInput as exc:
        return _render(
            page, project_id, offset, status=400, errors={label: exc.detail}, values={label: text}
        )
    return page.redirect(f"/projects/{project_id}/labels" + (f"?offset={offset}" if offset else ""))
