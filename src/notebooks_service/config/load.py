"""Reading the operator config file and turning every mistake into one line that names the key."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from notebooks_service.config.schema import OperatorConfig


class ConfigError(Exception):
    """A config problem, phrased as one line for the operator."""


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"unknown key {key!r}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{key}: {message}" if error["loc"] else message


def parse_config(data: dict[str, Any], source: str = "config") -> OperatorConfig:
    """Validate a config mapping; raise ConfigError naming the first offending key."""
    try:
        return OperatorConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{source}: {_describe(first)}") from None


def load_config(path: Path | None, overrides: dict[str, dict[str, Any]] | None = None
                ) -> OperatorConfig:
    """Load `path` (TOML, or JSON as `notebooks up` writes for its processes) if given, apply
    command-line overrides section by section, validate."""
    data: dict[str, Any] = {}
    source = "config"
    if path is not None:
        source = str(path)
        data = _read(path)
    for section, values in (overrides or {}).items():
        if not isinstance(data.get(section, {}), dict):
            break  # let validation name the malformed section
        data.setdefault(section, {}).update(values)
    return parse_config(data, source)


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{path}: not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: must hold a JSON object")
        return data
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
