"""The JupyterHub config file that `notebooks up` passes to the hub: all settings come from the runtime."""

from notebooks_service.hub.config import configure_hub
from notebooks_service.launcher.runtime import Runtime

configure_hub(c, Runtime.from_environment())  # type: ignore[name-defined]  # noqa: F821
