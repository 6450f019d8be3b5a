"""People's identifications: an occurrence's page with its determination, the history of its
identifications and (members) the form to identify it, agree, reject it or withdraw; the
queue of occurrences that need a person's look, most needed first; and undoing a bulk
identification or rejection.

The occurrence's page is served here, before ``events.py``, because its identification panel
needs the history this module reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import Query
from starlette.responses import Response

from trapline.domain.core.roles import Role
from trapline.domain.ecology.occurrences import LabelGroup, Occurrence
from trapline.domain.taxa.rejections import Rejection, parse_rejection, rejections_for
from trapline.domain.taxa.taxa import Identification, Taxon
from trapline.errors import InvalidInput, NotFound
from trapline.http.params import MAX_ID, Id
from trapline.services.ecology import occurrences
from trapline.services.photos import deployments, projects
from trapline.services.review import identifications
from trapline.services.review.identifications import MAX_BULK, MODEL
from trapline.services.taxa import taxa
from trapline.web.forms import form_id, text_block, whole_number
from trapline.web.pages import Offset, Page, PostedForm, SignedIn
from trapline.web.routes import page_router
from trapline.web.routes.taxa import pick_taxon
from trapline.web.timeline import local_time

router = page_router()

#: Occurrences per page of the queue.
PER_PAGE = 50
#: Labels per page of the queue grouped by label, and the crops shown of each.
GROUPS_PER_PAGE = 10
GROUP_SHOWN = 24


@router.get("/occurrences/{occurrence_id}")
def occurrence_page(page: SignedIn, occurrence_id: Id) -> Response:
    """An occurrence: its determination, identifications, and detections in photo order."""
    return _occurrence(page, occurrence_id)


def _occurrence(
    page: Page,
    occurrence_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    found, sightings = occurrences.get_occurrence(page.db, page.me, occurrence_id)
    project, role = projects.get_project(page.db, page.me, found.project_id)
    deployment = deployments.get_deployment(page.db, page.me, found.deployment_id)
    history = identifications.history(page.db, page.me, occurrence_id)
    taxon = _taxon(page, found.project_id, found.taxon_id)
    standing = [i for i in history if not i.withdrawn]
    # The rejection that determines it (the latest word not withdrawn), for its undo.
    rejecting = standing[-1] if found.rejected and standing and standing[-1].rejected else None
    return page.render(
        "occurrence.html",
        status=status,
        project=project,
        role=role,
        deployment=deployment,
        occurrence=found,
        sightings=sightings,
        local_time=local_time,
        can_edit=role.allows(Role.MEMBER),
        history=history,
        taxon=taxon,
        authors={str(i.id): i.user_name or "someone" for i in history},
        may_withdraw_any=role.allows(Role.MANAGER),
        identify_error=error,
        values=values or {},
        rejections=rejections_for(project.kind),
        rejecting=rejecting,
        rejected_words=Rejection(found.rejected).words if found.rejected else None,
        quick=identifications.recent_taxa(page.db, page.me, found.project_id),
    )


def _taxon(page: Page, project_id: int, taxon_id: int | None) -> Taxon | None:
    """The taxon an occurrence is counted under; None when none (or its list changed since)."""
    if taxon_id is None:
        return None
    return taxa.taxa_by_ids(page.db, page.me, project_id, [taxon_id]).get(taxon_id)


@router.post("/occurrences/{occurrence_id}/identify")
def identify(page: SignedIn, occurrence_id: Id, form: PostedForm) -> Response:
    """Identify an occurrence: name the taxon picked, agree with the model or a person, or
    reject it."""
    agree = str(form.get("agree_with") or "").strip()
    rejected = _rejection(form)
    text = str(form.get("taxon") or "")
    values = {"taxon": text, "comment": str(form.get("comment") or "")}
    found, _ = occurrences.get_occurrence(page.db, page.me, occurrence_id)
    try:
        comment = text_block(values["comment"], "comment")
        if rejected is not None:
            _, now = identifications.identify_occurrence(
                page.db, page.me, occurrence_id, rejected=rejected, comment=comment
            )
        elif agree:
            agree_with: str | int = MODEL if agree == MODEL else form_id(agree, "agree_with")
            _, now = identifications.identify_occurrence(
                page.db, page.me, occurrence_id, agree_with=agree_with, comment=comment
            )
        else:
            _, now = identifications.identify_occurrence(
                page.db,
                page.me,
                occurrence_id,
                taxon_id=chosen_taxon(page, found.project_id, form),
                comment=comment,
            )
    except InvalidInput as exc:
        return _occurrence(page, occurrence_id, status=400, error=exc.detail, values=values)
    return page.redirect(f"/occurrences/{now.id}#identification")


@router.post("/identifications/{identification_id}/withdraw")
def withdraw(page: SignedIn, identification_id: Id, form: PostedForm) -> Response:
    """Withdraw an identification (its author or a manager); it stays in the history."""
    now = identifications.withdraw(page.db, page.me, identification_id)
    if now is not None:
        return page.redirect(f"/occurrences/{now.id}#identification")
    # Its detection is in no occurrence any more: back to where the form was.
    return page.redirect(f"/occurrences/{form_id(form.get('occurrence') or '', 'occurrence')}")


@router.get("/projects/{project_id}/identify")
def identification_queue(
    page: SignedIn,
    project_id: Id,
    offset: Offset = 0,
    by: Annotated[Literal["label"] | None, Query()] = None,
    select: Annotated[Literal["all"] | None, Query()] = None,
    identified: Annotated[int | None, Query(ge=1, le=MAX_BULK)] = None,
    rejected: Annotated[int | None, Query(ge=1, le=MAX_BULK)] = None,
    undo: UndoText = "",
    undone: Annotated[int | None, Query(ge=1, le=MAX_BULK)] = None,
) -> Response:
    """Occurrences that need a person's look: people disagreeing, no species, least sure;
    or those the models determine, grouped by the models' label."""
    return _queue(
        page, project_id, offset, by, everything=select == "all", done=identified,
        undo=Undo.of(rejected, undo, undone),
    )  # fmt: skip


def _queue(
    page: Page,
    project_id: int,
    offset: int,
    by: str | None,
    *,
    status: int = 200,
    everything: bool = False,
    done: int | None = None,
    bulk: Bulk | None = None,
    undo: Undo | None = None,
) -> Response:
    project, role = projects.get_project(page.db, page.me, project_id)
    groups: list[LabelGroup] = []
    found: list[Occurrence] = []
    if by == "label":
        total, groups = identifications.queue_by_label(
            page.db, page.me, project_id, limit=GROUPS_PER_PAGE, offset=offset,
            per_label=MAX_BULK, shown=GROUP_SHOWN,
        )  # fmt: skip
        shown = [o for g in groups for o in g.occurrences]
    else:
        total, found = identifications.queue(
            page.db, page.me, project_id, limit=PER_PAGE, offset=offset
        )
        shown = found
    taxa_named = _taxa(page, project_id, {g.taxon_id for g in groups if g.taxon_id})
    bulk = bulk or Bulk(selected={o.id for o in shown} if everything else set())
    return page.render(
        "identify_queue.html",
        status=status,
        project=project,
        role=role,
        can_edit=role.allows(Role.MEMBER),
        occurrences=found,
        groups=groups,
        group_shown=GROUP_SHOWN,
        taxa_named=taxa_named,
        by=by,
        total=total,
        offset=offset,
        per_page=GROUPS_PER_PAGE if by == "label" else PER_PAGE,
        local_time=local_time,
        bulk=bulk,
        everything=everything,
        here=links(f"/projects/{project_id}/identify", by=by, offset=offset or None),
        done=done,
        rejections=rejections_for(project.kind),
        undo=undo or Undo(),
        quick=identifications.recent_taxa(page.db, page.me, project_id),
    )


def links(path: str, **params: object) -> dict[str, str]:
    """A page's address as shown (``none``) and with every box ticked (``all``)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return {
        "none": f"{path}?{query}" if query else path,
        "all": f"{path}?{query}{'&' if query else ''}select=all",
    }


def _taxa(page: Page, project_id: int, taxon_ids: set[int | None]) -> dict[int, Taxon]:
    wanted = {i for i in taxon_ids if i is not None}
    return taxa.taxa_by_ids(page.db, page.me, project_id, wanted) if wanted else {}


@router.post("/projects/{project_id}/identify")
def identify_queued(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """Identify the occurrences ticked on the identify page, or confirm a label's group."""
    by = "label" if form.get("by") == "label" else None
    offset = form_offset(form.get("offset"))
    try:
        made = identify_ticked(page, project_id, form)
    except (InvalidInput, NotFound) as exc:
        bulk = Bulk.of(form, error=exc.detail)
        return _queue(page, project_id, offset, by, status=exc.status_code, bulk=bulk)
    back = links(f"/projects/{project_id}/identify", by=by, offset=offset or None)["none"]
    return page.redirect(made.after(back))


@dataclass(frozen=True)
class Bulk:
    """A bulk identification form as the person left it: what they ticked and typed."""

    selected: set[int] = field(default_factory=set)
    taxon: str = ""
    comment: str = ""
    error: str | None = None

    @classmethod
    def of(cls, form: PostedForm, *, error: str | None = None) -> Bulk:
        values = [str(v) for v in form.getlist("occurrence_ids")[:MAX_BULK]]
        ticked = {n for n in (whole_number(v, MAX_ID) for v in values) if n}
        return cls(ticked, str(form.get("taxon") or ""), str(form.get("comment") or ""), error)


@dataclass(frozen=True)
class Ticked:
    """What a bulk form did: its identifications, and the rejection they are, if one."""

    made: list[Identification]
    rejected: Rejection | None = None

    def after(self, back: str, fragment: str = "") -> str:
        """Where the page goes next: ``back`` saying what was done (a rejection with the ids
        its undo withdraws)."""
        if self.rejected is None:
            said = f"identified={len(self.made)}"
        else:
            said = f"rejected={len(self.made)}&undo={','.join(str(i.id) for i in self.made)}"
        return f"{back}{'&' if '?' in back else '?'}{said}{fragment}"


def identify_ticked(page: Page, project_id: int, form: PostedForm) -> Ticked:
    """Identify the occurrences a bulk form ticked (or a group's confirmation names) as the
    taxon picked, each as its model's label, or reject them all. InvalidInput or NotFound as
    the service says, naming the field."""
    projects.get_project(page.db, page.me, project_id)  # an outsider's 404, before anything
    values = form.getlist("occurrence_ids")
    if not values:
        raise InvalidInput("occurrence_ids: tick the occurrences to identify first")
    if len(values) > MAX_BULK:
        raise InvalidInput(f"occurrence_ids: at most {MAX_BULK} at once (got {len(values)})")
    ids = [form_id(v, "occurrence_ids") for v in values]
    comment = text_block(str(form.get("comment") or ""), "comment")
    rejected = _rejection(form)
    if rejected is not None:
        made = identifications.identify_occurrences(
            page.db, page.me, project_id, ids, rejected=rejected, comment=comment
        )
    elif str(form.get("agree_with") or "") == MODEL:
        made = identifications.identify_occurrences(
            page.db, page.me, project_id, ids, agree_with=MODEL, comment=comment
        )
    else:
        made = identifications.identify_occurrences(
            page.db, page.me, project_id, ids, taxon_id=chosen_taxon(page, project_id, form),
            comment=comment,
        )  # fmt: skip
    return Ticked([i for i, _ in made], rejected)


def chosen_taxon(page: Page, project_id: int, form: PostedForm) -> int:
    """The taxon a form names: a quick button's ``taxon_id`` (one of the person's latest
    taxa), else the picker's text. The service refuses an id of no taxon of the list."""
    quick = form.get("taxon_id")
    if quick:
        return form_id(quick, "taxon_id")
    return pick_taxon(page, project_id, str(form.get("taxon") or ""), "taxon").id


def _rejection(form: PostedForm) -> Rejection | None:
    """The rejection a form's button names (None: it names none)."""
    text = str(form.get("rejected") or "")
    if not text:
        return None
    found = parse_rejection(text)
    if found is None:
        choices = ", ".join(r.value for r in Rejection)
        raise InvalidInput(f"rejected: one of {choices} (got {text[:40]!r})")
    return found


def form_offset(value: object) -> int:
    """The page's offset a form carried back (0 when it is no number)."""
    return whole_number(value or "0", 10**9) or 0


#: The ids a page's undo withdraws, as its address carries them ("12,13,14").
UndoText = Annotated[str, Query(max_length=MAX_BULK * 21)]


@dataclass(frozen=True)
class Undo:
    """A bulk rejection just made (how many, and the identifications its undo withdraws), or
    an undo just done."""

    rejected: int = 0
    ids: tuple[int, ...] = ()
    undone: int = 0

    @classmethod
    def of(cls, rejected: int | None, text: str, undone: int | None) -> Undo:
        numbers = (whole_number(v, MAX_ID) for v in text.split(",")[:MAX_BULK] if v)
        return cls(rejected or 0, tuple(n for n in numbers if n), undone or 0)


@router.post("/projects/{project_id}/identifications/withdraw")
def withdraw_many(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """Undo a bulk identification or rejection: withdraw its identifications (kept in the
    history), and go back to the page it was made on."""
    values = form.getlist("identification_ids")[:MAX_BULK]
    ids = [form_id(v, "identification_ids") for v in values]
    identifications.withdraw_many(page.db, page.me, project_id, ids)
    back = str(form.get("back") or "")
    if not back.startswith("/") or back.startswith("//") or "\\" in back:
        back = f"/projects/{project_id}/identify"
    path, hash_, fragment = back.partition("#")
    return page.redirect(f"{path}{'&' if '?' in path else '?'}undone={len(ids)}{hash_}{fragment}")
