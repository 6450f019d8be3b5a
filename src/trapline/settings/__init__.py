"""The settings of the platform and the worker, in sections, from TRAPLINE_* variables and .env.

``Settings`` holds one section of each kind (``settings.db``, ``settings.worker``, ...); each
part of trapline is handed the section it reads.
"""

from trapline.settings.backends import DatabaseSettings, QueueSettings, StorageSettings
from trapline.settings.base import Section, parse_network, parse_size, variable_names
from trapline.settings.callbacks import CallbackSettings
from trapline.settings.combined import KEYWORDS, Settings, sections
from trapline.settings.problems import InvalidSettings
from trapline.settings.runners import ExportSettings, PushSettings, SourceSettings
from trapline.settings.server import (
    DEFAULT_MAX_CONCURRENT_DECODES,
    DEFAULT_MAX_DECODE_BYTES,
    SECRET_KEY_FILE,
    HttpSettings,
    LogSettings,
    SecuritySettings,
    ServerSettings,
)
from trapline.settings.worker import WorkerSettings

__all__ = [
    "DEFAULT_MAX_CONCURRENT_DECODES",
    "DEFAULT_MAX_DECODE_BYTES",
    "KEYWORDS",
    "SECRET_KEY_FILE",
    "CallbackSettings",
    "DatabaseSettings",
    "ExportSettings",
    "HttpSettings",
    "InvalidSettings",
    "LogSettings",
    "PushSettings",
    "QueueSettings",
    "Section",
    "SecuritySettings",
    "ServerSettings",
    "Settings",
    "SourceSettings",
    "StorageSettings",
    "WorkerSettings",
    "parse_network",
    "parse_size",
    "sections",
    "variable_names",
]
