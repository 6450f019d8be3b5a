"""What every section of the settings shares: where it reads from, and the parsers of its values.

A section reads its own variables, ``TRAPLINE_<FIELD>`` unless a field names its variables
(``validation_alias``), from the environment and from ``.env``.
"""

from __future__ import annotations

import json
import math
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, BeforeValidator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PREFIX = "TRAPLINE_"


class Section(BaseSettings):
    """A group of settings that belong together, read from ``TRAPLINE_*`` variables and .env."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )


def variable_names(name: str, field: FieldInfo) -> list[str]:
    """The variables a section's field reads, its ``TRAPLINE_*`` name first."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    if isinstance(alias, str):
        return [alias]
    return [f"{PREFIX}{name.upper()}"]


def split_commas(value: object) -> object:
    """A comma-separated text as a list of its non-empty parts; any other value as it is."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def split_origins(value: object) -> object:
    """Origins as a JSON list or comma-separated."""
    if isinstance(value, str) and value.strip().startswith("["):
        return json.loads(value)
    return split_commas(value)


def parse_networks(value: object) -> object:
    """Networks comma-separated, or a list of texts and networks."""
    value = split_commas(value)
    if not isinstance(value, list | tuple):
        return value
    return [parse_network(v) if isinstance(v, str) else v for v in value]


def parse_size_or_none(value: object) -> object:
    """A size given as text (``4G``) in bytes; a number of bytes checked; any other value as
    it is."""
    if isinstance(value, str):
        return parse_size(value)
    if isinstance(value, int) and not isinstance(value, bool) and value < 1:
        raise ValueError(f"a size must be at least 1 byte (got {value})")
    return value


#: Names given comma-separated (or as a list).
Names = Annotated[list[str], NoDecode, BeforeValidator(split_commas)]
#: Paths given comma-separated (or as a list).
Paths = Annotated[list[Path], NoDecode, BeforeValidator(split_commas)]
#: Origins given comma-separated or as a JSON list.
Origins = Annotated[list[str], NoDecode, BeforeValidator(split_origins)]
#: Networks in CIDR notation given comma-separated (or as a list).
Networks = Annotated[list[IPv4Network | IPv6Network], NoDecode, BeforeValidator(parse_networks)]
#: A number of bytes, also given as ``512M`` or ``4G``.
Size = Annotated[int | None, BeforeValidator(parse_size_or_none)]

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> int | None:
    """Bytes in a size such as ``512M``, ``4G``, ``4GiB`` or ``1000000``; empty gives ``None``."""
    cleaned = text.strip().upper().removesuffix("IB").removesuffix("B")
    if not cleaned:
        return None
    unit = cleaned[-1] if cleaned[-1] in _UNITS else ""
    number = cleaned[: len(cleaned) - len(unit)].strip()
    try:
        size = float(number) * _UNITS[unit]
    except ValueError:
        size = math.nan
    if not math.isfinite(size):  # "lots", "inf", "nan", "1e999"
        raise ValueError(f"not a size: {text!r} (use e.g. 512M or 4G)")
    if size < 1:  # "0.5" is half a byte, not 0
        raise ValueError(f"a size must be at least 1 byte (got {text!r})")
    return int(size)


def parse_network(text: str) -> IPv4Network | IPv6Network:
    """A network in CIDR notation (``10.0.0.0/8``; an address alone is a one-address network)."""
    try:
        return ip_network(text.strip())
    except ValueError as exc:
        raise ValueError(
            f"{text.strip()!r} is not a network in CIDR notation such as 10.0.0.0/8 or fd00::/8 "
            f"({exc})"
        ) from None
