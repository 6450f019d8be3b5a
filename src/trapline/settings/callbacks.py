"""The callback API's section (docs/callback-api.md).

Each field also reads the integration guide's ``ML_*`` variable; trapline's own name wins.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr

from trapline.settings.base import Names, Section


def _names(name: str) -> AliasChoices:
    """``TRAPLINE_<NAME>``, then the guide's ``<NAME>``."""
    return AliasChoices(f"TRAPLINE_{name}", name)


class CallbackSettings(Section):
    """The callback API for external pipelines: on or off, its secrets and its limits."""

    #: Callback API: on; off, every callback route answers 404 (also ``ML_ANALYSIS_ENABLED``).
    enabled: bool = Field(True, validation_alias=_names("ML_ANALYSIS_ENABLED"))
    #: Callback API: the global HMAC secrets, comma-separated; every one is valid, so a new
    #: one can be added before the old one goes (also ``ML_CALLBACK_HMAC_SECRET``).
    hmac_secret: SecretStr | None = Field(None, validation_alias=_names("ML_CALLBACK_HMAC_SECRET"))
    #: Callback API: callbacks must be signed; off, a member's API token may stand in for a
    #: signature (also ``ML_PIPELINE_REQUIRE_HMAC``).
    require_hmac: bool = Field(True, validation_alias=_names("ML_PIPELINE_REQUIRE_HMAC"))
    #: Callback API: model names analyses may name (comma-separated); empty allows any
    #: (also ``ML_ALLOWED_MODELS``).
    allowed_models: Names = Field(
        default_factory=list, validation_alias=_names("ML_ALLOWED_MODELS")
    )
    #: Callback API: analyses one image may have; past it, creating one answers 429
    #: (also ``ML_MAX_ANALYSES_PER_IMAGE``).
    max_analyses_per_image: int = Field(
        50, ge=1, le=1_000_000, validation_alias=_names("ML_MAX_ANALYSES_PER_IMAGE")
    )
    #: Callback API: artifacts (upload links) one analysis may ask for; past it, asking
    #: answers 429 (also ``ML_MAX_ARTIFACTS_PER_ANALYSIS``).
    max_artifacts_per_analysis: int = Field(
        1000, ge=1, le=100_000, validation_alias=_names("ML_MAX_ARTIFACTS_PER_ANALYSIS")
    )
    #: Callback API: annotations in one bulk post; more answer 413
    #: (also ``ML_MAX_BULK_ANNOTATIONS``).
    max_bulk_annotations: int = Field(
        5000, ge=1, le=50_000, validation_alias=_names("ML_MAX_BULK_ANNOTATIONS")
    )
    #: Callback API: seconds an upload or download link stays valid
    #: (also ``ML_PRESIGNED_URL_EXPIRY_SECONDS``).
    presigned_url_expiry_seconds: int = Field(
        900, ge=1, le=7 * 24 * 3600, validation_alias=_names("ML_PRESIGNED_URL_EXPIRY_SECONDS")
    )
    #: Callback API: seconds a signature's timestamp may be off the server's clock, either way
    #: (also ``ML_CALLBACK_MAX_SKEW_SECONDS``).
    max_skew_seconds: int = Field(
        300, ge=1, le=3600, validation_alias=_names("ML_CALLBACK_MAX_SKEW_SECONDS")
    )
    #: Callback API: seconds an analysis may stay queued or processing before a background
    #: duty marks it failed (also ``ML_STUCK_ANALYSIS_SECONDS``).
    stuck_analysis_seconds: float = Field(
        6 * 3600.0, gt=0, validation_alias=_names("ML_STUCK_ANALYSIS_SECONDS")
    )

    def hmac_secrets(self) -> list[bytes]:
        """The global callback HMAC secrets, in the order given."""
        if self.hmac_secret is None:
            return []
        text = self.hmac_secret.get_secret_value()
        return [part.strip().encode() for part in text.split(",") if part.strip()]
