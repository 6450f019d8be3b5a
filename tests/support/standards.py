"""The published standards the exports are checked against, kept offline with the export tests
(tests/app/exports/fixtures): MegaDetector's batch-output schema and a Camtrap DP validator."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

#: The export tests' fixtures: the standards and schemas, as published.
FIXTURES = Path(__file__).resolve().parents[1] / "app" / "exports" / "fixtures"


def megadetector_schema() -> dict:
    return json.loads((FIXTURES / "megadetector-batch-output-1.4.schema.json").read_text())


def _standards() -> Path:
    """The standards kept with the tests (fixtures/standards), or where
    ``TRAPLINE_STANDARDS_DIR`` says."""
    import os

    if os.environ.get("TRAPLINE_STANDARDS_DIR"):
        return Path(os.environ["TRAPLINE_STANDARDS_DIR"])
    return FIXTURES / "standards"


STANDARDS = _standards()

CAMTRAP = STANDARDS / "camtrap-dp-1.0.2"


def validate_camtrap_dp(root: Path) -> list[str]:
    """Errors of a Camtrap DP package (a folder) against the official 1.0.2 profile and table
    schemas, kept offline: the published URLs are mapped to the local copies."""
    import frictionless
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    from trapline.exports.camtrap_dp import PROFILE_URL, SCHEMA_URLS

    local = {
        PROFILE_URL: CAMTRAP / "camtrap-dp-profile.json",
        "https://specs.frictionlessdata.io/schemas/data-package.json": STANDARDS
        / "frictionless-data-package-1.0"
        / "data-package.json",
        "http://json.schemastore.org/geojson.json": Path(frictionless.__file__).parent
        / "assets"
        / "profiles"
        / "geojson.json",
    }
    descriptor = json.loads((root / "datapackage.json").read_text())
    errors: list[str] = []
    assert descriptor["profile"] == PROFILE_URL
    registry = Registry().with_resources(
        (url, Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT7))
        for url, path in local.items()
    )
    profile = json.loads(local[PROFILE_URL].read_text())
    validator = jsonschema.Draft7Validator(profile, registry=registry)
    errors += [
        f"datapackage.json {list(e.absolute_path)}: {e.message}"
        for e in validator.iter_errors(descriptor)
    ]
    tables = json.loads(json.dumps(descriptor))
    tables.pop("profile")
    for resource in tables["resources"]:
        name = resource["name"]
        if name in SCHEMA_URLS:
            assert resource["schema"] == SCHEMA_URLS[name]
            resource["schema"] = json.loads((CAMTRAP / f"{name}-table-schema.json").read_text())
    package = frictionless.Package.from_descriptor(tables, basepath=str(root))
    report = package.validate()
    for task in report.tasks:
        errors += [f"{task.name}: {e.type} {e.note}" for e in task.errors]
    errors += [f"package: {e.type} {e.note}" for e in report.errors]
    return errors
