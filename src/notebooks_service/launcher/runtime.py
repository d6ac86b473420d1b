"""The resolved settings of one running service, handed from the launcher to the hub and its services.

The operator config says what the operator wants; the runtime adds what was decided at start: the
effective issuer, the internal ports picked, and the data dir as an absolute path.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from notebooks_service.config.schema import OperatorConfig
from notebooks_service.launcher.layout import DataDir, write_private

RUNTIME_ENV = "NOTEBOOKS_RUNTIME"
"""Environment variable through which the hub finds the runtime file."""


class Runtime(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    config: OperatorConfig
    data_dir: str
    issuer: str
    hub_api_port: int
    proxy_api_port: int
    service_ports: dict[str, int]
    """Ports of the hub's services, chosen once so that a restarted hub finds them where servers expect."""
    cli_client_id: str = "notebooks-cli"

    @property
    def layout(self) -> DataDir:
        return DataDir(Path(self.data_dir))

    @property
    def hub_api_url(self) -> str:
        """The hub's REST API on its internal port, for the services beside it."""
        return f"http://127.0.0.1:{self.hub_api_port}/hub/api"

    @property
    def jwt_service_url(self) -> str:
        return f"http://127.0.0.1:{self.service_ports['jwt']}"

    @property
    def hub_url(self) -> str:
        service = self.config.service
        return f"http://{service.ip}:{service.port}"

    def effective_config(self, client_secret: str) -> OperatorConfig:
        """The operator config with what this start resolved: the issuer, the absolute data dir and
        the client secret. The hub's services read it (`config.environment`), as they read the
        operator's file on Kubernetes."""
        config = self.config
        return config.model_copy(update={
            "oidc": config.oidc.model_copy(update={"issuer": self.issuer, "client_secret": client_secret}),
            "service": config.service.model_copy(update={"data_dir": self.data_dir}),
        })

    def save(self, client_secret: str) -> Path:
        """Write the runtime file (for the hub) and the effective config (for the services), private."""
        effective = self.effective_config(client_secret)
        write_private(self.layout.operator_file, effective.model_dump_json(indent=2))
        path = self.layout.runtime_file
        write_private(path, self.model_dump_json(indent=2))
        return path

    @classmethod
    def load(cls, path: Path) -> Runtime:
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_environment(cls) -> Runtime:
        try:
            return cls.load(Path(os.environ[RUNTIME_ENV]))
        except KeyError:
            raise RuntimeError(f"{RUNTIME_ENV} is not set: start the hub with `notebooks up`") from None
