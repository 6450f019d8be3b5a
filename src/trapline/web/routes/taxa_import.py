"""Importing a taxa file, or names typed or pasted one a line, on the taxa page (managers):
the rows' (lines') outcomes are shown, and a file (list) with any bad row is refused whole with
the outcomes of its rows (those with a problem first).

Both are bounded here, not by a JSON route's body limit: an upload declaring more than a taxa
file may hold is refused before it is read, and a typed list is held to the same limits.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import Response

from trapline.domain.taxa.taxa import Rank, RowOutcome, RowStatus, parse_rank
from trapline.domain.taxa.taxa_rows import MAX_TAXA_BYTES
from trapline.errors import InvalidInput, RejectedRows
from trapline.http.filenames import clean_filename
from trapline.http.params import Id
from trapline.services.taxa import taxa, taxa_names
from trapline.web.forms import FILE_FORM_FRAMING, MB, file_over_limit, whole_number
from trapline.web.pages import SignedIn
from trapline.web.routes import page_router
from trapline.web.routes.taxa import render_taxa

router = page_router()


@router.post("/projects/{project_id}/taxa/import")
async def import_file(page: SignedIn, project_id: Id) -> Response:
    """Add or update the project's taxa from a file (CSV, Darwin Core checklist or archive)."""
    problem = file_over_limit(page.request.headers, "a taxa file", MAX_TAXA_BYTES, "split it")
    if problem:
        return await run_in_threadpool(
            render_taxa, page, project_id, status=413, import_error=problem
        )
    try:
        data, filename = await _posted_file(page)
        outcomes = await run_in_threadpool(
            taxa.import_taxa, page.db, page.me, project_id, data, filename
        )
    except RejectedRows as exc:
        rows = [_outcome(row) for row in exc.rows]
        return await run_in_threadpool(
            render_taxa, page, project_id, status=400, outcomes=rows,
            not_listed=exc.not_listed, refused=exc.detail,
        )  # fmt: skip
    except InvalidInput as exc:
        return await run_in_threadpool(
            render_taxa, page, project_id, status=400, import_error=exc.detail
        )
    return await run_in_threadpool(render_taxa, page, project_id, outcomes=outcomes)


async def _posted_file(page: SignedIn) -> tuple[bytes, str]:
    """The form's file (up to one byte over what a taxa file may hold, so that a larger one is
    refused by its size) and its name, once the form's CSRF token was checked."""
    async with page.request.form(max_files=1, max_fields=5) as form:
        submitted = form.get("csrf")
        page.check_csrf(submitted if isinstance(submitted, str) else None)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("file: choose a taxa file (CSV, Darwin Core checklist or DwC-A zip)")
        return await upload.read(MAX_TAXA_BYTES + 1), clean_filename(upload.filename)


def _outcome(row: dict[str, object]) -> RowOutcome:
    """A refused file's row, as the service describes it."""
    message = row.get("message")
    return RowOutcome(
        row=int(str(row["row"])),
        name=str(row["name"]),
        status=RowStatus(str(row["status"])),
        message=str(message) if message is not None else None,
    )


@router.post("/projects/{project_id}/taxa/names")
async def import_names(page: SignedIn, project_id: Id) -> Response:
    """Match names typed or pasted one a line to the project's list, adding the others."""
    sent = {"text": "", "rank": Rank.SPECIES.value, "error": ""}
    declared = whole_number(page.request.headers.get("content-length", ""), 10**18)
    if declared is not None and declared > MAX_TAXA_BYTES + FILE_FORM_FRAMING:
        sent["error"] = (
            f"names: the list may be at most {MAX_TAXA_BYTES // MB} MB (this one is "
            f"{declared / MB:.1f} MB): split it"
        )
        return await run_in_threadpool(render_taxa, page, project_id, status=413, names=sent)
    try:
        sent.update(await _posted_names(page))
        rank = parse_rank(sent["rank"])
        if rank is None:
            known = ", ".join(r.value for r in Rank)
            raise InvalidInput(f"rank: one of {known} (got {sent['rank'][:20]!r})", field="rank")
        outcomes = await run_in_threadpool(
            taxa_names.import_names, page.db, page.me, project_id, sent["text"], rank
        )
    except RejectedRows as exc:
        rows = [_outcome(row) for row in exc.rows]
        return await run_in_threadpool(
            render_taxa, page, project_id, status=400, outcomes=rows,
            not_listed=exc.not_listed, refused=exc.detail, names=sent,
        )  # fmt: skip
    except InvalidInput as exc:
        sent["error"] = exc.detail
        sent["error_field"] = exc.field or "names"
        return await run_in_threadpool(render_taxa, page, project_id, status=400, names=sent)
    done = {**sent, "text": ""}
    return await run_in_threadpool(render_taxa, page, project_id, outcomes=outcomes, names=done)


async def _posted_names(page: SignedIn) -> dict[str, str]:
    """The typed list and its rank, once the form's CSRF token was checked (InvalidInput
    naming ``names`` for a list larger than a taxa file may be)."""
    try:
        async with page.request.form(
            max_files=0, max_fields=5, max_part_size=MAX_TAXA_BYTES + 1
        ) as form:
            submitted = form.get("csrf")
            page.check_csrf(submitted if isinstance(submitted, str) else None)
            text, rank = form.get("names"), form.get("rank")
    except HTTPException as exc:  # a part over its size, or a form that is not one
        detail = str(exc.detail)
        if "maximum size" in detail:
            detail = f"the list may be at most {MAX_TAXA_BYTES // MB} MB: split it"
        raise InvalidInput(f"names: {detail}", field="names") from None
    return {
        "text": text if isinstance(text, str) else "",
        "rank": rank.strip() if isinstance(rank, str) else Rank.SPECIES.value,
    }
