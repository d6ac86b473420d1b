"""How a process of the service finds the operator config: one file named by `NOTEBOOKS_CONFIG`.

The hub, the JWT API, credits and the token release service all read the operator file the same way,
wherever they run: `notebooks up` writes the validated config with what it resolved at start (issuer,
absolute data dir) to `run/operator.json`; on Kubernetes the operator's TOML is mounted from a
ConfigMap. Secrets stay out of files that may be shared: the OAuth client secret may come from
`NOTEBOOKS_OIDC_CLIENT_SECRET` (a Kubernetes Secret), and PostgreSQL passwords from libpq's own
`PGPASSWORD`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from notebooks_service.config.load import ConfigError, load_config
from notebooks_service.config.schema import OperatorConfig

CONFIG_ENV = "NOTEBOOKS_CONFIG"
CLIENT_SECRET_ENV = "NOTEBOOKS_OIDC_CLIENT_SECRET"


def config_from_environment(environ: Mapping[str, str] | None = None) -> OperatorConfig:
    """The validated operator config of this process; ConfigError names what is missing or wrong."""
    env = os.environ if environ is None else environ
    path = env.get(CONFIG_ENV)
    if not path:
        raise ConfigError(f"{CONFIG_ENV} is not set: it names the operator config file")
    config = load_config(Path(path))
    secret = env.get(CLIENT_SECRET_ENV)
    if secret:
        config = config.model_copy(update={"oidc": config.oidc.model_copy(update={"client_secret": secret})})
    return config
