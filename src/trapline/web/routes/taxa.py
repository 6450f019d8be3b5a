"""A project's taxa list: its taxa by name, exporting it as CSV, counting under another
project's list, and the type-ahead of the taxon pickers (the import is ``taxa_import.py``).

A taxon picker posts the text of the suggestion picked, ``Ardea cinerea (species)``;
``pick_taxon`` reads it back into the taxon, so a form works without its script too (type
the exact scientific or vernacular name).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Annotated

from fastapi import Query
from starlette.responses import JSONResponse, Response

from trapline.domain.core.roles import Role
from trapline.domain.taxa.taxa import Rank, RowOutcome, RowStatus, TaxaList, Taxon, parse_rank
from trapline.errors import InvalidInput, NotFound
from trapline.http.params import Id
from trapline.protocol.base import ONE_LINE
from trapline.services.photos import projects
from trapline.services.taxa import taxa
from trapline.web.forms import form_id, one_line
from trapline.web.pages import Offset, Page, PostedForm, SignedIn
from trapline.web.routes import page_router

router = page_router()

#: Taxa per page of the list.
PER_PAGE = 100
#: Suggestions a picker shows.
SUGGESTIONS = 20
#: The most rows of an import's outcomes a page lists (every row with a problem first).
OUTCOMES_SHOWN = 2_000
#: A picked suggestion: the scientific name, then its rank in brackets.
_RANKED = re.compile(r"^(?P<name>.+?)\s*\((?P<rank>[a-z]+)\)$")


@router.get("/projects/{project_id}/taxa")
def taxa_page(page: SignedIn, project_id: Id, offset: Offset = 0) -> Response:
    """The project's taxa list: what it is, its taxa by name, import, export and sharing."""
    return render_taxa(page, project_id, offset=offset)


def render_taxa(
    page: Page,
    project_id: int,
    *,
    offset: int = 0,
    status: int = 200,
    outcomes: Sequence[RowOutcome] = (),
    not_listed: int = 0,
    refused: str | None = None,
    import_error: str | None = None,
    names: dict[str, str] | None = None,
) -> Response:
    """The taxa page, with an import's outcomes (``not_listed``: rows more the outcomes leave
    out; ``refused``: why nothing was imported). ``names``: the typed list's form as sent
    (``text``, ``rank``, ``error``) when its outcomes are shown; its outcomes are of lines."""
    project, role = projects.get_project(page.db, page.me, project_id)
    taxa_list = taxa.project_list(page.db, page.me, project_id)
    total, found = taxa.page(page.db, page.me, project_id, limit=PER_PAGE, offset=offset)
    shown = {t.id: t for t in found}
    parents = taxon_names(
        page, project_id, {t.parent_id for t in found if t.parent_id} - set(shown)
    )
    keeps = taxa_list is None or taxa_list.owner_project_id == project_id
    counts = {s.value: sum(1 for o in outcomes if o.status is s) for s in RowStatus}
    return page.render(
        "taxa.html",
        status=status,
        project=project,
        role=role,
        taxa_list=taxa_list,
        keeper=_keeper_name(page, taxa_list) if not keeps else None,
        taxa=found,
        total=total,
        offset=offset,
        per_page=PER_PAGE,
        parents=parents | shown,
        may_import=role.allows(Role.MANAGER) and keeps,
        may_share=role.allows(Role.MANAGER),
        outcomes=_shown(outcomes),
        hidden_outcomes=max(len(outcomes) - OUTCOMES_SHOWN, 0) + not_listed,
        counts=counts,
        refused=refused,
        import_error=import_error,
        names=names or {"text": "", "rank": Rank.SPECIES.value, "error": ""},
        typed=names is not None,
        ranks=list(Rank),
    )


def _shown(outcomes: Sequence[RowOutcome]) -> list[RowOutcome]:
    """At most OUTCOMES_SHOWN rows in file order, those with a problem kept first."""
    if len(outcomes) <= OUTCOMES_SHOWN:
        return list(outcomes)
    bad = [o for o in outcomes if o.status is RowStatus.ERROR][:OUTCOMES_SHOWN]
    rest = [o for o in outcomes if o.status is not RowStatus.ERROR][: OUTCOMES_SHOWN - len(bad)]
    return sorted([*bad, *rest], key=lambda o: o.row)


def _keeper_name(page: Page, taxa_list: TaxaList | None) -> str | None:
    """The name of the project that keeps a shared list, when the caller may see it."""
    if taxa_list is None or taxa_list.owner_project_id is None:
        return None
    try:
        keeper, _ = projects.get_project(page.db, page.me, taxa_list.owner_project_id)
    except NotFound:
        return None
    return keeper.name


@router.get("/projects/{project_id}/taxa/export")
def export(page: SignedIn, project_id: Id) -> Response:
    """The project's taxa list as CSV, in the form the import reads."""
    name, text = taxa.export_taxa(page.db, page.me, project_id)
    response = Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
    page.finish(response)
    return response


@router.post("/projects/{project_id}/taxa/share")
def share(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """Count under another project's taxa list from now on (managers)."""
    list_id = form_id(form.get("list_id") or "", "list_id")
    taxa.share_list(page.db, page.me, project_id, list_id)
    return page.redirect(f"/projects/{project_id}/taxa")


@router.get("/projects/{project_id}/taxa/suggest")
def suggest(
    page: SignedIn,
    project_id: Id,
    q: Annotated[str, Query(min_length=2, max_length=255, pattern=ONE_LINE)],
) -> Response:
    """A picker's suggestions (JSON): taxa whose scientific or vernacular name starts with q."""
    found = taxa.search(page.db, page.me, project_id, q, limit=SUGGESTIONS)
    body = [{"value": picked_text(t), "label": vernacular_line(t)} for t in found]
    response = JSONResponse(body)
    page.finish(response)
    return response


def picked_text(taxon: Taxon) -> str:
    """What a picker's field holds once the taxon is picked."""
    return f"{taxon.scientific_name} ({taxon.rank.value})"


def vernacular_line(taxon: Taxon) -> str:
    """A taxon's vernacular names on one line, English first."""
    names = sorted(taxon.vernacular.items(), key=lambda item: (item[0] != "en", item[0]))
    return ", ".join(name for _, name in names)


def pick_taxon(page: Page, project_id: int, text: str, field: str) -> Taxon:
    """The taxon of the project's list a picker's text names (InvalidInput naming ``field``
    when it names none, or several)."""
    text = one_line(text, field, limit=300)
    ranked = _RANKED.match(text)
    rank = parse_rank(ranked["rank"]) if ranked else None
    name = ranked["name"] if ranked and rank else text
    found = taxa.search(page.db, page.me, project_id, name, limit=taxa.MAX_SUGGESTIONS)
    folded = name.casefold()
    named = [
        t for t in found if t.scientific_name.casefold() == folded and rank in (None, t.rank)
    ] or [t for t in found if folded in (v.casefold() for v in t.vernacular.values())]
    if len(named) == 1:
        return named[0]
    if not named:
        raise InvalidInput(
            f"{field}: no taxon of the project's list is named {name!r}; type two letters or "
            "more and pick one of the suggestions"
        )
    ranks = ", ".join(sorted(t.rank.value for t in named))
    raise InvalidInput(
        f"{field}: {name!r} names {len(named)} taxa ({ranks}); pick one of the suggestions, "
        "which give the rank"
    )


def taxon_names(page: Page, project_id: int, ids: Iterable[int]) -> dict[int, Taxon]:
    """Taxa of the project's list by id (a page names a few: parents, ancestors, mappings)."""
    return taxa.taxa_by_ids(page.db, page.me, project_id, ids)
