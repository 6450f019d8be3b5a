"""One Settings object for the platform and the worker, made of sections.

Each section reads its own ``TRAPLINE_*`` variables (and ``.env``). In code, a setting is also
given by the keyword its variable names (``Settings(database_url=…, duties_enabled=False)``,
as the CLI's flags and the tests do): the keyword is routed to its section. Values that cannot
be used raise ``InvalidSettings``, one line naming each variable and what is wrong.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from trapline.settings.backends import DatabaseSettings, QueueSettings, StorageSettings
from trapline.settings.base import PREFIX, Section, variable_names
from trapline.settings.callbacks import CallbackSettings
from trapline.settings.problems import InvalidSettings, section_problems, unknown_setting
from trapline.settings.runners import ExportSettings, PushSettings, SourceSettings
from trapline.settings.server import HttpSettings, LogSettings, SecuritySettings, ServerSettings
from trapline.settings.worker import WorkerSettings


class Settings(BaseModel):
    """Every knob trapline has, by section. A CLI flag such as ``--data-dir`` sets the same field.

    ``Settings(**keywords)`` takes each setting by its variable's name without the prefix
    (``data_dir``, ``ml_max_bulk_annotations``) or a whole section (``db=DatabaseSettings(…)``);
    ``_env_file`` is handed to every section (``None``: no ``.env``).
    """

    model_config = ConfigDict(extra="forbid")

    # A section not given reads its variables (see ``_build_sections``).
    server: ServerSettings = Field(default_factory=ServerSettings)
    logs: LogSettings = Field(default_factory=LogSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    push: PushSettings = Field(default_factory=PushSettings)
    exports: ExportSettings = Field(default_factory=ExportSettings)
    sources: SourceSettings = Field(default_factory=SourceSettings)
    callbacks: CallbackSettings = Field(default_factory=CallbackSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)

    def __init__(self, **keywords: Any) -> None:
        try:
            super().__init__(**keywords)
        except ValidationError as exc:
            raise _invalid(exc) from None

    @model_validator(mode="before")
    @classmethod
    def _build_sections(cls, data: Any) -> Any:
        """Route keywords to their sections, then build each section (it reads its variables)."""
        if not isinstance(data, dict):
            return data
        values = dict(data)
        options = {"_env_file": values.pop("_env_file")} if "_env_file" in values else {}
        given: dict[str, dict[str, Any]] = {name: {} for name in cls.model_fields}
        for keyword in [k for k in values if k in KEYWORDS]:
            section, field = KEYWORDS[keyword]
            given[section][field] = values.pop(keyword)
        for name, fields in given.items():
            current = values.get(name)
            if not isinstance(current, Section):
                section_type = sections()[name]
                try:
                    values[name] = section_type(**options, **(current or {}), **fields)
                except ValidationError as exc:
                    raise section_problems(section_type, exc) from None
        return values

    def updated(self, **changes: Any) -> Settings:
        """A copy with the settings named by keyword changed, each checked as its variable is.

        Raises:
            InvalidSettings: a keyword names no setting, or a value is not one it takes.
        """
        by_section: dict[str, dict[str, Any]] = {}
        for keyword, value in changes.items():
            if keyword not in KEYWORDS:
                raise unknown_setting(keyword)
            section, field = KEYWORDS[keyword]
            by_section.setdefault(section, {})[field] = value
        update: dict[str, Section] = {}
        for name, fields in by_section.items():
            current = getattr(self, name)
            section_type = type(current)
            try:
                # Every field given: nothing is read from the environment or .env again.
                update[name] = section_type(_env_file=None, **{**dict(current), **fields})
            except ValidationError as exc:
                raise section_problems(section_type, exc) from None
        return self.model_copy(update=update)


def _invalid(exc: ValidationError) -> InvalidSettings:
    """Settings' own validation errors as one line: a section's problems as it named them, a
    keyword that names no setting as such."""
    problems: list[str] = []
    for error in exc.errors():
        found = (error.get("ctx") or {}).get("error")
        if isinstance(found, InvalidSettings):
            problems.append(str(found))
        elif error.get("type") == "extra_forbidden":
            problems.append(str(unknown_setting(str(error["loc"][0]))))
        else:
            problems.append(f"{'.'.join(map(str, error['loc']))}: {error['msg']}")
    return InvalidSettings("; ".join(problems))


def sections() -> dict[str, type[Section]]:
    """Each section's attribute name and type, in order."""
    found: dict[str, type[Section]] = {}
    for name, field in Settings.model_fields.items():
        assert isinstance(field.annotation, type)
        assert issubclass(field.annotation, Section)
        found[name] = field.annotation
    return found


def _keywords() -> dict[str, tuple[str, str]]:
    """Each setting's keyword (its first variable without the prefix, lower case) and where it
    lives: section and field."""
    table: dict[str, tuple[str, str]] = {}
    for section_name, section in sections().items():
        for name, field in section.model_fields.items():
            keyword = variable_names(name, field)[0].removeprefix(PREFIX).lower()
            assert keyword not in table, f"two settings are both called {keyword}"
            table[keyword] = (section_name, name)
    return table


#: ``database_url`` → ``("db", "url")``: each setting's keyword and where it lives.
KEYWORDS = _keywords()
