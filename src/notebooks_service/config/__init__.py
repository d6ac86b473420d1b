"""The operator config file: schema and loading."""

from notebooks_service.config.load import ConfigError, load_config, parse_config
from notebooks_service.config.schema import DevIdpSection, DevUser, OidcSection, OperatorConfig

__all__ = [
    "ConfigError",
    "DevIdpSection",
    "DevUser",
    "OidcSection",
    "OperatorConfig",
    "load_config",
    "parse_config",
]
