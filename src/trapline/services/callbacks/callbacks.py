"""The callback API: analyses an external pipeline creates, signs its way through and finishes.

A person (``member`` of the image's project) creates the analysis; the pipeline then signs
each call with HMAC (``CallbackGate``) to set its status, upload artifacts, post annotations
and finalize it. Annotations are stored by ``repos.processing.analyses`` like any worker's, so
they show up for people the same way.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from opentelemetry import metrics

from trapline.db.engine import Database
from trapline.db.repositories.processing.analyses import CALLBACK_SOURCE
from trapline.db.types import utcnow
from trapline.domain.callbacks.callbacks import (
    ARTIFACT_CONTENT_TYPES,
    Artifact,
    BadSignature,
    IllegalTransition,
    SignatureProblem,
    SignedRequest,
    artifact_key,
    check_signature,
    check_transition,
)
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.processing.results import Analysis, AnalysisStatus, Annotation, AnnotationDraft
from trapline.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
)
from trapline.protocol.callbacks import AnalysisIn, BadItem, BulkIn, FinalizeIn, PresignIn, StatusIn
from trapline.services.callbacks import signed_calls
from trapline.services.callbacks.artifacts import check_upload, upload_problem
from trapline.services.callbacks.callback_annotations import drafts_from_items
from trapline.services.callbacks.callback_secrets import SecretBox
from trapline.services.callbacks.signed_calls import SignedCall
from trapline.services.core.access import project_for, require
from trapline.settings import CallbackSettings
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)

#: What the whole callback API answers while it is turned off: what an unknown path answers.
DISABLED = "no such endpoint; see /api/v2/docs for the API"


def check_enabled(settings: CallbackSettings) -> None:
    """NotFound, as for an unknown path, while the callback API is off."""
    if not settings.enabled:
        raise NotFound(DISABLED)


class SignatureMonitor:
    """Counts refused signatures by reason: per process for the admin's stats, and as the
    OpenTelemetry counter ``trapline.callback.signature_failures`` (attribute ``reason``),
    exported when the process has an OpenTelemetry SDK configured (a no-op otherwise)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._exported = metrics.get_meter("trapline").create_counter(
            "trapline.callback.signature_failures",
            description="callback calls refused for their signature",
        )

    def refused(self, problem: SignatureProblem) -> None:
        """Count one refusal."""
        with self._lock:
            self._counts[problem.value] += 1
        self._exported.add(1, {"reason": problem.value})

    def counts(self) -> dict[str, int]:
        """Refusals so far, by reason."""
        with self._lock:
            return dict(self._counts)


@dataclass(frozen=True)
class Callbacks:
    """What the callback API runs on: built once per process (``Platform``)."""

    db: Database
    store: BlobStore
    settings: CallbackSettings
    #: The largest upload the server takes (an artifact is one).
    max_upload_bytes: int
    box: SecretBox
    monitor: SignatureMonitor
    #: Seconds since the epoch; a parameter so tests can move the clock.
    clock: Callable[[], float] = time.time

    # Signed calls

    def verify(
        self,
        analysis_id: int,
        request: SignedRequest,
        body: bytes,
        source: str,
        action: str,
        token_user: Callable[[], User] | None = None,
    ) -> SignedCall:
        """The analysis a signed call is for, once its signature checks out, bound to this
        call (``action``) and analysis (``signed_calls.claim``: a repeat carries the first
        answer; Conflict when the signature was used elsewhere). NotAuthenticated says which
        check failed (the failure is logged and counted).

        An unknown analysis is reported only to a caller whose signature passes a global
        secret: to anyone else it looks like any analysis whose secret they lack.
        """
        check_enabled(self.settings)
        settings = self.settings
        with self.db.read() as repos:
            analysis = repos.processing.analyses.get(analysis_id)
            sealed = (
                repos.callbacks.callbacks.active_sealed(analysis.project_id, request.key_id)
                if analysis is not None and analysis.project_id is not None
                else []
            )
        if request.signature is None and not settings.require_hmac and token_user:
            return SignedCall(self._by_token(analysis, analysis_id, token_user()))
        keys = [] if request.key_id else list(settings.hmac_secrets())
        keys += [s for s in (self.box.open(k, v) for k, v in sealed) if s is not None]
        unknown_key = bool(request.key_id) and not keys
        try:
            try:
                accepted = check_signature(
                    request,
                    body,
                    # An unknown key id is checked like any other, against a key nobody has,
                    # so that neither the answer nor its time tells it apart.
                    keys or [secrets.token_bytes(32)],
                    now=self.clock(),
                    max_skew=settings.max_skew_seconds,
                )
            except BadSignature as exc:
                if unknown_key and exc.problem is SignatureProblem.MISMATCH:
                    raise BadSignature(SignatureProblem.UNKNOWN_KEY) from None
                raise
        except BadSignature as exc:
            self.monitor.refused(exc.problem)
            log.warning(
                "callback signature refused for analysis %s from %s: %s",
                analysis_id,
                source,
                exc.problem.value,
            )
            raise NotAuthenticated(str(exc), code="bad_signature") from None
        analysis = require(analysis, "analysis", analysis_id)
        # Kept until its timestamp is out of the window on either side: no replay can pass.
        expires = utcnow() + timedelta(seconds=2 * settings.max_skew_seconds + 60)
        return signed_calls.claim(self.db, analysis, accepted, action, expires)

    def _by_token(self, analysis: Analysis | None, analysis_id: int, caller: User) -> Analysis:
        """Without HMAC required, a member's API token may stand in for a signature."""
        found = require(analysis, "analysis", analysis_id)
        with self.db.read() as repos:
            assert found.project_id is not None
            project_for(repos, caller, found.project_id, Role.MEMBER, asked=("analysis", found.id))
        return found

    def set_status(self, analysis: Analysis, body: StatusIn) -> Analysis:
        """Move the analysis along its life cycle; a no-op when it is there already."""
        return self._move(analysis.id, AnalysisStatus(body.status), body.error_message)

    def finalize(self, analysis: Analysis, body: FinalizeIn) -> Analysis:
        """Complete or fail the analysis (from queued too); the whole analysis after."""
        self._move(analysis.id, AnalysisStatus(body.status), body.error_message)
        with self.db.read() as repos:
            finished = require(
                repos.processing.analyses.with_annotations(analysis.id), "analysis", analysis.id
            )
            uploads = repos.callbacks.callbacks.artifacts(analysis.id)
        # An S3 upload link cannot cap a file's size, and a file no annotation names is never
        # checked by a bulk post: what breaks the limits goes now that no more may be named.
        for artifact in uploads:
            check_upload(self.store, artifact, self.max_upload_bytes)
        return finished

    def _move(self, analysis_id: int, wanted: AnalysisStatus, error: str | None) -> Analysis:
        with self.db.write() as repos:
            current = require(
                repos.processing.analyses.get(analysis_id, lock=True), "analysis", analysis_id
            )
            try:
                changes = check_transition(current.status, wanted)
            except IllegalTransition as exc:
                raise Conflict(str(exc), code="illegal_transition") from None
            if changes:
                failed = wanted is AnalysisStatus.FAILED
                repos.processing.analyses.set_status(
                    analysis_id,
                    wanted,
                    error=(error or "the pipeline reported a failure") if failed else None,
                    now=utcnow(),
                    allowed_from=[current.status],
                )
            return require(repos.processing.analyses.get(analysis_id), "analysis", analysis_id)

    def presign(self, analysis: Analysis, body: PresignIn) -> tuple[str, str]:
        """(upload URL, storage path) for one artifact of an open analysis."""
        _check_open(analysis)
        content_type = ARTIFACT_CONTENT_TYPES[body.artifact_type]
        assert analysis.project_id is not None
        key = artifact_key(
            analysis.project_id,
            analysis.id,
            body.artifact_type,
            secrets.token_hex(8),
            body.filename,
        )
        limit = self.settings.max_artifacts_per_analysis
        with self.db.write() as repos:
            # The analysis's row, locked: two links asked at once are counted one after the other.
            require(repos.processing.analyses.get(analysis.id, lock=True), "analysis", analysis.id)
            if repos.callbacks.callbacks.artifact_count(analysis.id) >= limit:
                raise TooManyRequests(
                    f"analysis {analysis.id} already has {limit} artifacts, the most one analysis "
                    "may have (ML_MAX_ARTIFACTS_PER_ANALYSIS)",
                    code="too_many_artifacts",
                )
            repos.callbacks.callbacks.add_artifact(
                analysis.id, body.artifact_type, body.filename, content_type, key, utcnow()
            )
        url = self.store.signed_upload_url(
            key,
            content_type=content_type,
            expires_in=self.settings.presigned_url_expiry_seconds,
        )
        return url, key

    def bulk(self, analysis: Analysis, body: BulkIn) -> tuple[list[Annotation], int]:
        """Store a bulk post's annotations (each once, whoever posts it again); the post's
        annotations as stored and how many the analysis holds."""
        limit = self.settings.max_bulk_annotations
        if len(body.annotations) > limit:
            raise PayloadTooLarge(
                f"at most {limit} annotations per request (got {len(body.annotations)}); "
                "send them in several requests",
                code="too_many_annotations",
            )
        _check_open(analysis)
        with self.db.read() as repos:
            image = require(repos.core.images.get(analysis.image_id), "image", analysis.image_id)
            artifacts = {a.storage_key: a for a in repos.callbacks.callbacks.artifacts(analysis.id)}
        checked: dict[str, str | None] = {}

        def check_path(path: str) -> str | None:
            if path not in checked:
                checked[path] = self._path_problem(artifacts.get(path), analysis.id)
            return checked[path]

        try:
            drafts = drafts_from_items(body.annotations, image, check_path)
        except BadItem as exc:
            raise InvalidInput(str(exc), code="invalid_annotation") from None
        with self.db.write() as repos:
            current = require(
                repos.processing.analyses.get(analysis.id, lock=True), "analysis", analysis.id
            )
            _check_open(current)
            if body.mode == "replace":
                repos.processing.analyses.clear_annotations(analysis.id)
                known: set[str] = set()
            else:
                known = repos.processing.analyses.digests(analysis.id)
            new = [d for d in drafts if d.digest not in known]
            ids = repos.processing.analyses.add_annotations(current, new)
            # Annotations stored before are read back; the new ones are what was just written.
            stored = repos.processing.analyses.annotations_by_digest(
                analysis.id, [d.digest for d in drafts if d.digest in known]
            )
            total = repos.processing.analyses.count_annotations(analysis.id)
        stored.update(
            (d.digest, _as_stored(d, annotation_id, analysis))
            for d, annotation_id in zip(new, ids, strict=True)
            if d.digest is not None
        )
        return [stored[d.digest] for d in drafts if d.digest in stored], total

    def _path_problem(self, artifact: Artifact | None, analysis_id: int) -> str | None:
        """Why an annotation may not name this storage path, or None when it may: an
        uploaded file of the analysis within the upload limit (a refused file is deleted)."""
        if artifact is None or artifact.analysis_id != analysis_id:
            return (
                f"is not an artifact of analysis {analysis_id}; ask for an upload link with "
                "POST …/artifacts/presign and use the storage_path it answers"
            )
        return check_upload(self.store, artifact, self.max_upload_bytes)

    # Calls of people

    def create(self, caller: User, image_id: int, body: AnalysisIn) -> Analysis:
        """A queued analysis of an image (members of its project)."""
        check_enabled(self.settings)
        if body.image_id is not None and body.image_id != image_id:
            raise Conflict(
                f"image_id is {body.image_id} but the path names image {image_id}; "
                "leave it out or make them the same",
                code="image_mismatch",
            )
        allowed = self.settings.allowed_models
        if allowed and body.model_name not in allowed:
            raise InvalidInput(
                f"model_name {body.model_name!r} is not allowed here; allowed models: "
                + ", ".join(allowed),
                code="model_not_allowed",
            )
        with self.db.write() as repos:
            image = require(repos.core.images.get(image_id), "image", image_id)
            project_for(repos, caller, image.project_id, Role.MEMBER, asked=("image", image_id))
            if repos.pipelines.pipelines.named(image.project_id, body.model_name):
                # Results are tracked by the name of what made them: the two would be one.
                raise InvalidInput(
                    f"model_name: {body.model_name[:100]!r} is the name of a pipeline of "
                    "the project; name the model apart, so that its results are never "
                    "taken for that pipeline's",
                    field="model_name",
                    code="model_name_taken",
                )
            limit = self.settings.max_analyses_per_image
            if repos.processing.analyses.count_for_image(image_id, CALLBACK_SOURCE) >= limit:
                raise TooManyRequests(
                    f"image {image_id} already has {limit} analyses, the most one image may "
                    "have; delete the image's old results or raise ML_MAX_ANALYSES_PER_IMAGE",
                    code="too_many_analyses",
                )
            analysis_id = repos.processing.analyses.create(
                project_id=image.project_id,
                image_id=image_id,
                model_name=body.model_name,
                model_version=body.model_version,
                parameters=body.parameters,
                provenance=body.provenance,
                requested_by_id=caller.id,
                now=utcnow(),
            )
            return require(repos.processing.analyses.get(analysis_id), "analysis", analysis_id)

    def read(self, caller: User, analysis_id: int) -> tuple[Analysis, list[tuple[Artifact, str]]]:
        """An analysis with its annotations and its uploaded artifacts with download links
        (viewers of its project)."""
        check_enabled(self.settings)
        with self.db.read() as repos:
            analysis = require(
                repos.processing.analyses.with_annotations(analysis_id), "analysis", analysis_id
            )
            assert analysis.project_id is not None
            asked = ("analysis", analysis_id)
            project_for(repos, caller, analysis.project_id, Role.VIEWER, asked=asked)
            artifacts = repos.callbacks.callbacks.artifacts(analysis_id)
        ttl = self.settings.presigned_url_expiry_seconds
        limit = self.max_upload_bytes
        # Only files that pass the bulk post's check get a link. Reading deletes nothing: the
        # pipeline may be uploading a good file over a refused one right now.
        links = [
            (a, self.store.signed_url(a.storage_key, expires_in=ttl))
            for a in artifacts
            if upload_problem(a, self.store.stat(a.storage_key), limit) is None
        ]
        return analysis, links

    def of_image(self, caller: User, image_id: int) -> list[Analysis]:
        """An image's analyses, without annotations (viewers of its project)."""
        check_enabled(self.settings)
        with self.db.read() as repos:
            image = require(repos.core.images.get(image_id), "image", image_id)
            project_for(repos, caller, image.project_id, Role.VIEWER, asked=("image", image_id))
            return repos.processing.analyses.for_image_ids(image_id)


def _as_stored(draft: AnnotationDraft, annotation_id: int, analysis: Analysis) -> Annotation:
    return Annotation(
        id=annotation_id,
        analysis_id=analysis.id,
        image_id=analysis.image_id,
        type=draft.type,
        label=draft.label,
        confidence=draft.confidence,
        box=draft.box,
        data=draft.data,
        parent_id=None,
        algorithm_id=draft.algorithm_id,
        ordering=draft.ordering or 0,
        storage_key=draft.storage_key,
    )


def _check_open(analysis: Analysis) -> None:
    if analysis.status in (AnalysisStatus.COMPLETED, AnalysisStatus.FAILED):
        raise Conflict(
            f"analysis {analysis.id} is {analysis.status.value}; artifacts and annotations "
            "are taken only while it is queued or processing",
            code="illegal_transition",
        )
