"""Domain records handed out of the repositories: small, frozen, free of ORM state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trapline.domain.core.roles import Role


@dataclass(frozen=True)
class User:
    """A person (or an automation account) who can sign in with tokens."""

    id: int
    email: str
    name: str
    is_admin: bool
    is_active: bool
    created_at: datetime
    #: A processing-service account: it may act as a worker in its projects, nothing more.
    is_service: bool = False


@dataclass(frozen=True)
class ApiToken:
    """A token's public facts; the secret itself exists only in the creator's hands."""

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class SignInSession:
    """A person's web sign-in; its secret lives only in their browser's cookie."""

    id: int
    user_id: int
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None
    user_agent: str


@dataclass(frozen=True)
class Project:
    """A body of work: its images, deployments, members and jobs."""

    id: int
    name: str
    description: str
    image_count: int
    created_at: datetime
    #: How many labels and scores each stored classification keeps.
    classification_top_k: int = 5
    #: Whether classifications also keep the full score and logit vectors.
    keep_full_scores: bool = False
    #: The IANA time zone of deployments that name none, and of images without a deployment.
    time_zone: str = "UTC"
    #: What publishing says of the data: its licence (a URL or SPDX id) and its contacts.
    licence: str = ""
    contacts: tuple[Contact, ...] = ()
    #: ``light_trap``, ``camera_trap`` or ``other`` (``domain/events.ProjectKind``).
    kind: str = "other"
    #: The pipeline the project counts by; None: the one with the most tracked detections.
    counting_pipeline: str | None = None
    #: How deployments that name no rule group their photos (``night`` or ``sequence``) and
    #: the gap of ``sequence``, in seconds.
    event_rule: str = "night"
    event_gap_seconds: int = 60


@dataclass(frozen=True)
class Contact:
    """A person (or organisation) a published dataset names."""

    name: str
    email: str = ""
    organisation: str = ""
    #: ``contact``, ``principalInvestigator``, ``rightsHolder``, ``publisher`` or ``creator``.
    role: str = "contact"


@dataclass(frozen=True)
class Membership:
    """A user's role in a project."""

    project_id: int
    user_id: int
    email: str
    name: str
    role: Role
    created_at: datetime


@dataclass(frozen=True)
class Deployment:
    """A camera or trap station."""

    id: int
    project_id: int
    name: str
    description: str
    latitude: float | None
    longitude: float | None
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    #: The IANA time zone capture times without an offset are read in; None: the project's.
    time_zone: str | None = None
    #: Its own event rule (``night`` or ``sequence``); None: its project's.
    event_rule: str | None = None
    #: The camera's clock keeps the zone's standard time all year (no daylight saving).
    standard_time: bool = False
    #: The pipeline its counts are of (None: nothing tracked on it yet), and who chose it
    #: (``domain/ecology/choices.Chosen``).
    counting_pipeline: str | None = None
    counting_chosen: str | None = None
    #: What the last change of it could not carry to the new pipeline's individuals.
    counting_not_carried: tuple[str, ...] = ()

    @property
    def place(self) -> tuple[float, float] | None:
        """Its latitude and longitude; None without both (a record stored before both were
        required may hold one alone)."""
        if self.latitude is None or self.longitude is None:
            return None
        return self.latitude, self.longitude


def half_place(latitude: float | None, longitude: float | None) -> tuple[str, str] | None:
    """A place has both coordinates or neither: for one alone, (the one missing, the one
    given); None when whole or absent."""
    if latitude is not None and longitude is None:
        return "longitude", "latitude"
    if longitude is not None and latitude is None:
        return "latitude", "longitude"
    return None


#: Why half a place is refused, with the field missing and the one given.
HALF_PLACE = "{missing} is needed with the {given}: a place has both coordinates, or neither"


@dataclass(frozen=True)
class Image:
    """One stored image."""

    id: int
    project_id: int
    deployment_id: int | None
    storage_key: str
    filename: str
    sha256: str
    size_bytes: int
    width: int
    height: int
    content_type: str
    #: The wall-clock time of capture as read (from the file's tags or its name).
    captured_at: datetime | None
    #: ``captured_at``'s UTC offset: the file's own, else its deployment's zone's at that time.
    captured_offset_minutes: int | None
    source: str
    created_at: datetime
    #: The UTC offset the file itself gave, if any (kept so a zone change re-reads exactly).
    file_offset_minutes: int | None = None
    #: The event the image falls in (domain/ecology/events.py), if any.
    event_id: int | None = None


@dataclass(frozen=True)
class ImageFilter:
    """Which images of a project to take; every field is optional."""

    deployment_id: int | None = None
    captured_after: datetime | None = None
    captured_before: datetime | None = None
    filename_contains: str | None = None
    #: True: images with at least one detection (a box); False: images with none.
    has_detections: bool | None = None
    #: Images with an annotation of this label (a model's, as it gave it).
    label: str | None = None
    #: Images with an annotation at least this confident (with ``label``: the same one).
    min_confidence: float | None = None
    #: Images a job was asked to process.
    job_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The filter as a JSON object (for saved collections)."""
        return {
            "deployment_id": self.deployment_id,
            "captured_after": self.captured_after.isoformat() if self.captured_after else None,
            "captured_before": self.captured_before.isoformat() if self.captured_before else None,
            "filename_contains": self.filename_contains,
            "has_detections": self.has_detections,
            "label": self.label,
            "min_confidence": self.min_confidence,
            "job_id": self.job_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageFilter:
        """Inverse of ``as_json``."""
        after, before = data.get("captured_after"), data.get("captured_before")
        return cls(
            deployment_id=data.get("deployment_id"),
            captured_after=datetime.fromisoformat(after) if after else None,
            captured_before=datetime.fromisoformat(before) if before else None,
            filename_contains=data.get("filename_contains"),
            has_detections=data.get("has_detections"),
            label=data.get("label"),
            min_confidence=data.get("min_confidence"),
            job_id=data.get("job_id"),
        )


@dataclass(frozen=True)
class Collection:
    """A named set of images: an explicit list or a saved filter."""

    id: int
    project_id: int
    name: str
    description: str
    kind: str
    filter: ImageFilter | None
    image_count: int | None
    created_at: datetime
