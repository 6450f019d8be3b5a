"""The client: one authenticated HTTP session and a method per thing a script does."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from trapline.client import tables
from trapline.client.errors import ApiError
from trapline.client.progress import Progress
from trapline.client.rows import Rows
from trapline.client.uploads import UploadSummary, upload_folder

#: Job statuses after which nothing changes.
FINAL_STATUSES = frozenset({"succeeded", "completed_with_errors", "failed", "canceled"})
#: Items a listing asks for per page (the API's most).
PAGE = 1000


class Client:
    """The trapline API at ``url`` (with or without ``/api/v2``), as ``token``'s holder.

    Use it as a context manager, or call ``close`` when done.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base = url.rstrip("/").removesuffix("/api/v2")
        self.url = base
        #: ``transport``: httpx's, for a proxy of your own or an app in the same process.
        self.http = httpx.Client(
            base_url=f"{base}/api/v2",
            headers={"Authorization": f"Token {token}"},
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    # Calls

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` (under /api/v2) and return its JSON."""
        return _answer(self.http.get(path, params=_params(params)))

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """POST to ``path`` (under /api/v2) and return its JSON (None for an empty answer)."""
        return _answer(self.http.post(path, json=json, **kwargs))

    @contextlib.contextmanager
    def stream(self, path: str, **params: Any) -> Iterator[Iterator[str]]:
        """GET ``path`` (under /api/v2) and read its text as it comes, a line at a time (each
        with its line ending)."""
        with self.http.stream("GET", path, params=_params(params)) as response:
            if response.status_code >= 400:
                response.read()
                _answer(response)
            yield (line + "\n" for line in response.iter_lines())

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a listing, following its ``next`` links."""
        page = self.get(path, limit=PAGE, **params)
        while True:
            yield from page["results"]
            if not page.get("next"):
                return
            page = _answer(self.http.get(self._same_origin(str(page["next"]))))

    def _same_origin(self, link: str) -> str:
        """A link the API gave, when it is on this client's server: the token goes nowhere
        else (a listing's ``next`` naming another host is refused, not followed)."""
        target = self.http.base_url.join(link)
        if (target.scheme, target.host, target.port) != (
            self.http.base_url.scheme,
            self.http.base_url.host,
            self.http.base_url.port,
        ):
            raise ApiError(
                0,
                f"the server's link {link[:200]!r} leads to another server than {self.url}; "
                "it was not followed, so your token stayed here",
                "foreign_link",
            )
        return str(target)

    # Projects

    def projects(self) -> list[dict[str, Any]]:
        """The projects you are a member of."""
        return list(self.pages("/projects/"))

    def create_project(
        self, name: str, description: str = "", kind: str = "other"
    ) -> dict[str, Any]:
        """A new project; you become its owner. ``kind``: ``light_trap`` (counted by night),
        ``camera_trap`` (by 60 s sequences) or ``other`` (by night)."""
        answer: dict[str, Any] = self.post(
            "/projects/", {"name": name, "description": description, "kind": kind}
        )
        return answer

    def create_deployment(self, project_id: int, name: str, **fields: Any) -> dict[str, Any]:
        """A trap station of a project (``latitude``, ``longitude``, ``started_at``, ...)."""
        answer: dict[str, Any] = self.post(
            f"/projects/{project_id}/deployments/", {"name": name, **fields}
        )
        return answer

    def pipelines(self, project_id: int) -> list[dict[str, Any]]:
        """The pipelines registered with a project (what ``start_job`` can run there)."""
        return list(self.pages(f"/projects/{project_id}/pipelines/"))

    # Images

    def images(self, project_id: int, **filters: Any) -> Iterator[dict[str, Any]]:
        """A project's images (filters as the API's: ``deployment``, ``captured_after``...)."""
        return self.pages(f"/projects/{project_id}/images/", **filters)

    def upload(
        self, project_id: int, paths: Sequence[str | Path], *, deployment_id: int | None = None
    ) -> dict[str, Any]:
        """Upload a few files in one request; the answer gives each file's outcome."""
        with contextlib.ExitStack() as stack:
            files = [
                ("files", (Path(p).name, stack.enter_context(Path(p).open("rb")))) for p in paths
            ]
            data = {"deployment_id": str(deployment_id)} if deployment_id else None
            answer: dict[str, Any] = self.post(
                f"/projects/{project_id}/images/", files=files, data=data
            )
            return answer

    def upload_folder(
        self,
        project_id: int,
        folder: str | Path,
        *,
        deployment_id: int | None = None,
        recursive: bool = False,
        threads: int = 4,
        progress: bool = True,
    ) -> UploadSummary:
        """Upload every image file of ``folder``, skipping those the project already has (by
        SHA-256), several requests at once; says what became of each file."""
        return upload_folder(
            self,
            project_id,
            Path(folder),
            deployment_id=deployment_id,
            recursive=recursive,
            threads=threads,
            progress=progress,
        )

    # Results as tables (docs/analysis.md): each returns Rows, dicts with ``to_pandas()``.

    def occurrences(self, project_id: int, **filters: Any) -> Rows:
        """The project's occurrences (individuals), first seen first (filters as the API's:
        ``deployment``, ``taxon``, ``since``, ``until``, ``min_score``...)."""
        path = f"/projects/{project_id}/occurrences"
        return tables.listing(self, path, filters, ["id", "deployment_id", "first_seen"])

    def events(self, project_id: int, **filters: Any) -> Rows:
        """The project's events (nights or sequences), each with its individuals and taxa."""
        path = f"/projects/{project_id}/events"
        return tables.listing(self, path, filters, ["id", "deployment_id", "start"])

    def counts(self, project_id: int, by: str = "night", **filters: Any) -> Rows:
        """Individuals per taxon in each cell of ``by`` (``night``, ``event``,
        ``deployment``, ``hour``, comma-separated); ``rank`` rolls taxa up."""
        return tables.counts(self, project_id, {"by": by, **filters})

    def record_table(
        self,
        project_id: int,
        min_delta_minutes: float = 0,
        delta_compared_to: str = "lastRecord",
        **filters: Any,
    ) -> Rows:
        """camtrapR's record table: a record per station, species and independent sighting
        (``deployment``, ``taxon``, ``since`` and ``until`` days...), streamed."""
        params = {"min_delta_minutes": min_delta_minutes,
                  "delta_compared_to": delta_compared_to, **filters}  # fmt: skip
        return tables.record_table(self, project_id, params)

    def camera_operation(self, project_id: int, **params: Any) -> Rows:
        """camtrapR's camera operation: a row per station, a column per day (1, 0.5, 0, None)."""
        return tables.camera_operation(self, project_id, params)

    def detection_history(
        self, project_id: int, taxon: int, occasion_length: int = 1, **params: Any
    ) -> Rows:
        """camtrapR's detection history of a taxon: a row per station, a column per
        occasion (``day1``, ``output``, ``include_effort``, ``min_delta_minutes``...). A
        taxon never recorded gives zeros and a warning (``rows.warnings``, once read)."""
        params = {"taxon": taxon, "occasion_length": occasion_length, **params}
        return tables.detection_history(self, project_id, params)

    # Jobs

    def start_job(self, project_id: int, pipeline: str, **selection: Any) -> dict[str, Any]:
        """Run ``pipeline`` over the project's images (or ``collection_id``, ``image_ids``,
        ``deployment_id``; any other field of the API's job body)."""
        answer: dict[str, Any] = self.post(
            "/jobs/", {"project_id": project_id, "pipeline": pipeline, **selection}
        )
        return answer

    def job(self, job_id: int) -> dict[str, Any]:
        """A job: status, counters, progress, history."""
        answer: dict[str, Any] = self.get(f"/jobs/{job_id}/")
        return answer

    def wait(
        self, job_id: int, *, timeout: float | None = None, progress: bool = True, poll: float = 1.0
    ) -> dict[str, Any]:
        """Wait until the job ends (a progress bar on a terminal); returns it as it ended.

        Raises TimeoutError when ``timeout`` seconds pass first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        job = self.job(job_id)
        bar = Progress(job["counts"]["total"], f"job {job_id}") if progress else None
        while job["status"] not in FINAL_STATUSES:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job['status']} after {timeout} s")
            time.sleep(poll)
            job = self.job(job_id)
            if bar is not None:
                counts = job["counts"]
                bar.set_total(counts["total"])
                bar.advance(counts["succeeded"] + counts["failed"] - bar.done, job["status"])
        if bar is not None:
            bar.note = job["status"]
            bar.close()
        return job

    def results(self, job_id: int) -> list[dict[str, Any]]:
        """What the job's pipeline found, one row per annotation: each box (its own label and
        confidence: the detector's score) and each classification of it (``parent_id``: its
        box), a table's rows to give to ``pandas.DataFrame`` or ``csv.DictWriter``."""
        job = self.job(job_id)
        rows = []
        for task in self.pages(f"/jobs/{job_id}/tasks/", status="succeeded"):
            image = self.get(f"/images/{task['image_id']}/")
            for analysis in image["analyses"]:
                if analysis["job_id"] != job["id"]:
                    continue
                rows += [_row(image, analysis, a) for a in analysis["annotations"]]
        return rows


def _row(
    image: dict[str, Any], analysis: dict[str, Any], annotation: dict[str, Any]
) -> dict[str, Any]:
    box = annotation.get("bbox") or {}
    return {
        "image_id": image["id"],
        "filename": image["filename"],
        "captured_at": image["captured_at"],
        "deployment_id": image["deployment_id"],
        "pipeline": analysis.get("pipeline_slug"),
        "pipeline_version": analysis.get("pipeline_version"),
        "annotation_id": annotation["id"],
        "type": annotation["type"],
        "label": annotation.get("label"),
        "confidence": annotation.get("confidence"),
        "x1": box.get("x1"),
        "y1": box.get("y1"),
        "x2": box.get("x2"),
        "y2": box.get("y2"),
        "parent_id": annotation.get("parent_id"),
    }


def _params(params: dict[str, Any]) -> dict[str, str]:
    return {
        k: str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in params.items()
        if v is not None
    }


def _answer(response: httpx.Response) -> Any:
    if 300 <= response.status_code < 400:
        where = response.headers.get("location", "")[:200]
        raise ApiError(
            response.status_code,
            f"the server answered with a redirect to {where!r}, which the trapline API never "
            "does: check the URL the client was given (its scheme, host and path)",
            "redirect",
        )
    if response.status_code >= 400:
        try:
            body = response.json()
            detail, code = str(body.get("detail")), str(body.get("code", "error"))
        except ValueError:
            detail, code = response.text[:300], "error"
        raise ApiError(response.status_code, detail, code)
    if not response.content:
        return None
    return response.json()
