"""The rules that answer 400 to a request its schema allows, by operation.

A JSON Schema states each field alone; these rules depend on other fields, on the caller, on
what the database holds or on a file's content. The OpenAPI document lists them in each
operation's 400 answer (``api/openapi.py``), and the suite's fuzz run allows a 400 to a
schema-valid request on exactly these operations (``tests/system/fuzz``): a rule written here
is documented and allowed at once, and a rule the server keeps that is missing here fails the
fuzz run as valid data refused.
"""

from __future__ import annotations

from collections.abc import Mapping

_API = "/api/v2"
_NIGHTS = "since may not be after until."
_COUNTED_PIPELINE = (
    "A pipeline named in ?pipeline= must be one the project has results or a registration of."
)
_DAYS = "since may not be after until (days of the cameras' clocks)."
_SURVEY = (
    "The survey (the earliest setup to the latest retrieval, within since and until) spans "
    "at most 3,660 days."
)
_DEPLOYMENT_TIMES = "ended_at may not be before started_at."
_SOURCE = (
    "The URL takes the form of the source's kind (s3://bucket/prefix, ftp://, http(s)://, a "
    "local path under an allowed root) and the credentials are those of its kind.",
    "The deployment and pipeline named must be the project's.",
    "A source moved to another host needs its credentials given again (or cleared).",
)
_IDENTIFICATION = (
    "Exactly one of taxon_id and agree_with: a taxon of the project's list, or agreement with "
    "the model (whose label must name such a taxon) or with an identification of the "
    "occurrence.",
)

#: Operation (``METHOD path``, as the document names it) → the rules a request its schema
#: allows may still break, each answered 400 with a detail naming the field.
RULES: Mapping[str, tuple[str, ...]] = {
    f"POST {_API}/jobs": (
        "At most one of collection_id, image_ids and deployment_id.",
        "The pipeline must be registered and enabled in the project; pipeline_version, when "
        "given, one of its versions enabled there.",
        "The images, collection or deployment named must be the project's, and the selection "
        "must hold at least one image.",
        "params.settings.threshold only for a pipeline that declares a threshold.",
        "params.boxes_from only for a pipeline that classifies boxes it is given, naming another "
        "pipeline of the project that found boxes on some photo of the selection.",
    ),
    f"POST {_API}/jobs/{{job_id}}/tasks": (
        "The job must be a pull (async_api) job: a push job's tasks are not pulled.",
    ),
    f"PATCH {_API}/projects/{{project_id}}": (
        "time_zone must be an IANA name the server's zone database knows, in canonical form "
        "(e.g. Africa/Dar_es_Salaam; an old alias such as US/Eastern is refused with the name "
        "to use).",
        "counting_pipeline must be a pipeline the project has results or a registration of.",
    ),
    f"GET {_API}/deployments/{{deployment_id}}/compare": (
        "a and b name pipelines of the project (slug), or versions of one (slug@version) it has.",
    ),
    f"PUT {_API}/deployments/{{deployment_id}}/counting": (
        "pipeline must be one with results tracked on the deployment.",
    ),
    f"POST {_API}/projects/{{project_id}}/collections": (
        "Exactly one of image_ids and filter.",
        "The images (and a filter's deployment) must be the project's.",
    ),
    f"POST {_API}/projects/{{project_id}}/deployments": (_DEPLOYMENT_TIMES,),
    f"PATCH {_API}/deployments/{{deployment_id}}": (
        f"{_DEPLOYMENT_TIMES} This holds also when the request changes only one of them.",
    ),
    f"POST {_API}/projects/{{project_id}}/pipelines": (
        "A classification algorithm needs a category map, with scores matching its labels.",
        "A processing_service_name, or a client_info.hostname to name the service by.",
        "Each pipeline slug once per registration; a slug's pipeline keeps its algorithms.",
    ),
    f"POST {_API}/projects/{{project_id}}/processing-services": (
        "endpoint_url must be a well-formed http(s) URL without credentials, query or "
        "fragment, whose host the server may call (public addresses, for an account that is "
        "not an admin).",
    ),
    f"POST {_API}/projects/{{project_id}}/images": (
        "At least one file, in the form field files.",
        "deployment_id must name a deployment of the project.",
    ),
    f"POST {_API}/projects/{{project_id}}/images/move": (
        "The images and the deployment must be the project's.",
    ),
    f"POST {_API}/projects/{{project_id}}/exports": (
        "The deployment, collection, job and pipeline named must be the project's, and "
        "pipeline_version one of that pipeline's.",
        "pipeline_version needs pipeline.",
        "date_from may not be after date_to.",
        "record-table, camera-operation and detection-hist take only the filters of a "
        "count (deployment_id, date_from, date_to; pipeline, which must be one the project "
        "has results or a registration of; min_delta_minutes, delta_compared_to, empty_days "
        "and the detection history's taxon_id, occasion_length, day1, output, "
        "min_active_days and include_effort, each where it applies), and those filters go "
        "with no other format.",
        "A detection-hist export needs taxon_id, a taxon of the project's list, and "
        "min_active_days may not be more than occasion_length.",
    ),
    f"POST {_API}/projects/{{project_id}}/imports/megadetector": (
        "The file must be MegaDetector batch output (JSON) whose images are the project's.",
        "deployment_id must name a deployment of the project.",
    ),
    f"POST {_API}/projects/{{project_id}}/sources": _SOURCE,
    f"PATCH {_API}/sources/{{source_id}}": _SOURCE,
    f"PUT {_API}/projects/{{project_id}}/pinned-pipelines/{{slug}}": (
        "The version must be one of the pipeline's that the project has results or a "
        "registration of.",
    ),
    f"POST {_API}/projects/{{project_id}}/taxa": (
        "The file must be trapline taxa CSV, a Darwin Core checklist or archive, and every "
        "row well formed (else nothing is imported and every row's outcome is listed).",
    ),
    f"POST {_API}/projects/{{project_id}}/labels": (
        "A label stands for a taxon of the project's list or for no object, not both.",
    ),
    f"PUT {_API}/projects/{{project_id}}/taxa-list": (
        "The list shared must be one the caller may see.",
    ),
    f"GET {_API}/projects/{{project_id}}/species": (_NIGHTS, _COUNTED_PIPELINE),
    f"GET {_API}/projects/{{project_id}}/taxa/{{taxon_id}}": (_NIGHTS, _COUNTED_PIPELINE),
    f"GET {_API}/events/{{event_id}}/occurrences": (_COUNTED_PIPELINE,),
    f"GET {_API}/projects/{{project_id}}/occurrences": (_NIGHTS, _COUNTED_PIPELINE),
    f"GET {_API}/projects/{{project_id}}/events": (_NIGHTS, _COUNTED_PIPELINE),
    f"GET {_API}/projects/{{project_id}}/counts": (
        _NIGHTS,
        _COUNTED_PIPELINE,
        "by names one or more of deployment, event, night and hour, each once.",
    ),
    f"GET {_API}/projects/{{project_id}}/record-table": (_DAYS, _COUNTED_PIPELINE),
    f"GET {_API}/projects/{{project_id}}/camera-operation": (_DAYS, _SURVEY),
    f"GET {_API}/projects/{{project_id}}/detection-history": (
        _DAYS,
        _SURVEY,
        _COUNTED_PIPELINE,
        "min_active_days may not be more than occasion_length.",
    ),
    f"POST {_API}/occurrences/{{occurrence_id}}/identifications": _IDENTIFICATION,
    f"POST {_API}/annotations/{{annotation_id}}/identifications": (
        *_IDENTIFICATION,
        "The annotation must be a detection (a box), not a classification of one.",
    ),
    f"POST {_API}/projects/{{project_id}}/identifications": (
        "occurrence_ids names each occurrence once.",
        "Exactly one of taxon_id (a taxon of the project's list) and agree_with, which may "
        "only be the model, whose label must name such a taxon for every occurrence.",
    ),
    f"POST {_API}/occurrences/{{occurrence_id}}/split": (
        "detection_ids must be some, not all, of the occurrence's own detections.",
    ),
    f"POST {_API}/events/{{event_id}}/occurrences/merge": (
        "occurrence_ids must name at least two different occurrences (a repeated id counts "
        "once), all of this event and of one pipeline.",
    ),
    f"GET {_API}/annotations/{{annotation_id}}/crop": (
        "The annotation must have a box: a classification (or another annotation without "
        "one) has no crop.",
    ),
    f"POST {_API}/annotations/{{annotation_id}}/reviews": (
        "The annotation must be a detection (a box), not a classification of one.",
        "verdict may not be missing: a missing box is drawn on the image, not on an annotation.",
        "A relabel gives the right label, one line.",
    ),
    f"POST {_API}/images/{{image_id}}/analyses": (
        "model_name must be one of the models the server allows, when it names any.",
    ),
    f"POST {_API}/analyses/{{analysis_id}}/annotations:bulk": (
        "Each annotation lies inside the stored image, given in its pixels, and a "
        "storage_path names an uploaded artifact of this analysis.",
    ),
    f"POST {_API}/analyses/{{analysis_id}}/finalize": (
        "error_message goes only with status failed.",
    ),
    f"POST {_API}/users/{{user_id}}/deactivate": (
        "You cannot deactivate yourself: another admin can.",
    ),
    f"POST {_API}/users/{{user_id}}/tokens": (
        "The account must be active: activate a deactivated one first.",
    ),
    f"POST {_API}/users/{{user_id}}/password": (
        "The account must be a person's: service accounts sign in with tokens.",
    ),
    f"POST {_API}/projects/{{project_id}}/evaluation-sets": (
        "name must hold more than spaces.",
        _NIGHTS,
        "deployment_id must be a deployment of the project.",
        "taxa must be scientific names of the project's taxa list (so the project needs one).",
    ),
    f"GET {_API}/evaluation-sets/{{set_id}}/scores": (
        "pipeline must be a pipeline of the set's project, and version one of its versions there.",
    ),
    f"POST {_API}/projects/{{project_id}}/classifiers": (
        "name must hold more than spaces.",
        "features_from must be a pipeline's slug (or slug@version) of the project, alone or "
        "after crops: (crops:slug reads trapline's descriptors of that pipeline's boxes).",
        "The vectors that pipeline posted with identified detections must all be of one length "
        "(else name one version).",
        "A refit needs at least 5 identified individuals of at least 2 taxa, each taxon's seen "
        "in at least 2 events, with vectors of that pipeline (with crops:slug, on boxes that "
        "pipeline drew).",
    ),
    f"POST {_API}/projects/{{project_id}}/groupings": (
        "features_from must be a pipeline's slug (or slug@version) of the project.",
        _NIGHTS,
        "deployment_id must be a deployment of the project.",
        "The vectors that pipeline posted with the unidentified individuals' detections must all "
        "be of one length (else name one version).",
        "A grouping needs at least 3 unidentified individuals of the scope with vectors of that "
        "pipeline.",
    ),
    f"POST {_API}/groupings/{{grouping_id}}/groups/{{number}}/identify": (
        "The grouping must be done (not queued, running or failed), and have a group of that "
        "number.",
        "The group must have an individual nobody has identified or rejected since.",
        "taxon_id must be a taxon of the project's taxa list.",
    ),
    f"GET {_API}/classifiers/{{classifier_id}}/scores": (
        "The refit must be fitted (not queued, fitting or failed).",
        "The pipeline version whose features the refit read must still be one of the project's.",
    ),
    f"POST {_API}/classifiers/{{classifier_id}}/promote": (
        "The refit must be fitted (not queued, fitting or failed).",
        "The pipeline whose features it reads must have found boxes on some photo of the project "
        "(they are what the promoted refit names).",
    ),
    f"POST {_API}/projects/{{project_id}}/detection-scorers": (
        "name must hold more than spaces.",
        "A scorer needs at least 10 boxes people confirmed or drew, on photos of at least 2 "
        "nights (events).",
    ),
    f"POST {_API}/detection-scorers/{{scorer_id}}/promote": (
        "The scorer must be fitted (not queued, fitting or failed).",
    ),
}
