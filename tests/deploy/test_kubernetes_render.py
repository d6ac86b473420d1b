"""`notebooks kubernetes values|objects`: the chart's schema accepts the values, secrets stay references,
the hub config the chart runs is the one `notebooks up` applies, and bad input fails naming the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from traitlets.config import Config

from notebooks_service.config.environment import CLIENT_SECRET_ENV, CONFIG_ENV
from notebooks_service.config.load import ConfigError
from notebooks_service.kubernetes.hubconf import configure_kubernetes_hub
from notebooks_service.kubernetes.render import RenderError, objects_yaml, render, values_yaml
from notebooks_service.tokens.kubernetes import KubeTokenSpawner

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "deploy" / "examples" / "kubernetes.toml"
CHART_PLACES = [Path(os.environ["NOTEBOOKS_Z2JH_DIR"])] if os.environ.get("NOTEBOOKS_Z2JH_DIR") else [
    REPO.parent / "shared" / "z2jh", Path("/work/shared/z2jh")]
"""Where Zero to JupyterHub 4.4.0's values schema and default values are, as data (shared/z2jh/README.md
says why): beside the checkout, as on the project's machines, or where $NOTEBOOKS_Z2JH_DIR says."""


def chart_file(name: str) -> dict[str, Any]:
    for place in CHART_PLACES:
        if (place / name).exists():
            return yaml.safe_load((place / name).read_text())
    pytest.fail(f"Zero to JupyterHub 4.4.0's {name} is in none of {', '.join(map(str, CHART_PLACES))}")


def merged(defaults: Any, values: Any) -> Any:
    """Values over the chart's defaults, as Helm merges them before it validates (maps merge, the
    rest is replaced)."""
    if isinstance(defaults, dict) and isinstance(values, dict):
        return {**defaults, **{k: merged(defaults.get(k), v) for k, v in values.items()}}
    return values


def validate_for_chart(values: dict[str, Any]) -> None:
    jsonschema.Draft7Validator(chart_file("values.schema.yaml")).validate(
        merged(chart_file("values.yaml"), values))


def operator_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "operator.toml"
    path.write_text(text)
    return path


def test_rendered_values_pass_the_chart_schema_and_reload_as_written() -> None:
    rendered = render(EXAMPLE)
    validate_for_chart(rendered.values)
    assert yaml.safe_load(values_yaml(rendered)) == rendered.values
    assert list(yaml.safe_load_all(objects_yaml(rendered))) == rendered.objects


def test_a_value_the_chart_refuses_is_caught_by_the_schema() -> None:
    """The schema check has teeth: a key the chart does not know fails it."""
    values = render(EXAMPLE).values
    values["singleuser"]["storage"]["sizeInGigabytes"] = 10
    with pytest.raises(jsonschema.ValidationError, match="sizeInGigabytes"):
        validate_for_chart(values)


def test_profiles_are_the_credits_profiles_with_their_resources_groups_and_prices() -> None:
    profiles = {p["slug"]: p for p in render(EXAMPLE).values["singleuser"]["profileList"]}
    assert list(profiles) == ["small", "large", "gpu"]
    assert profiles["small"]["default"] is True
    small = profiles["small"]["kubespawner_override"]
    assert (small["cpu_limit"], small["cpu_guarantee"], small["mem_limit"], small["mem_guarantee"]) == \
        (2.0, 2.0, "4G", "4G")
    gpu = profiles["gpu"]
    assert gpu["kubespawner_override"]["extra_resource_limits"] == {"nvidia.com/gpu": "1"}
    assert "20 credits per hour" in gpu["description"]
    assert "vo.notebooks.egi.eu:gpu" in gpu["description"]


def test_secrets_are_references_never_values(tmp_path: Path) -> None:
    rendered = render(EXAMPLE)
    hub_env = rendered.values["hub"]["extraEnv"]
    assert hub_env[CLIENT_SECRET_ENV] == {"valueFrom": {"secretKeyRef": {"name": "notebooks-oidc",
                                                                         "key": "client-secret"}}}
    assert hub_env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "notebooks-db"
    assert "password" not in rendered.values["hub"]["db"]
    deployments = {o["metadata"]["name"]: o for o in rendered.objects if o["kind"] == "Deployment"}
    jwt_container = deployments["notebooks-jwt"]["spec"]["template"]["spec"]["containers"][0]
    jwt_env = {e["name"]: e for e in jwt_container["env"]}
    assert jwt_env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "hub", "key": "hub.services.jwt.apiToken"}
    text = EXAMPLE.read_text()
    inlined = text.replace('client_id = "notebooks-example"',
                           'client_id = "notebooks-example"\nclient_secret = "s3cret"')
    with pytest.raises(RenderError, match=r"oidc\.client_secret"):
        render(operator_file(tmp_path, inlined))
    with_password = text.replace("postgresql+psycopg://notebooks@", "postgresql+psycopg://notebooks:pw@")
    with pytest.raises(RenderError, match="hub_database_url: leave the password out"):
        render(operator_file(tmp_path, with_password))


@pytest.mark.parametrize(("change", "names"), [
    (("[dev_idp]\nenabled = false", "[dev_idp]\nenabled = true"), "dev_idp.enabled"),
    (('public_url = "https://eu-1.notebooks.example.org"', ""), "kubernetes.public_url"),
    (('database_url = "postgresql+psycopg://notebooks@postgres.notebooks.svc:5432/credits"', ""),
     "credits.database_url"),
])
def test_what_kubernetes_cannot_use_fails_naming_the_key(tmp_path: Path, change: tuple[str, str],
                                                          names: str) -> None:
    old, new = change
    text = EXAMPLE.read_text()
    assert old in text
    with pytest.raises(RenderError, match=names.replace(".", r"\.")):
        render(operator_file(tmp_path, text.replace(old, new, 1)))


@pytest.mark.real_stack  # runs `notebooks up` and `notebooks kubernetes` (each stops at the bad value)
def test_a_bad_value_fails_as_it_does_for_notebooks_up(tmp_path: Path) -> None:
    """One validation: the render and `notebooks up` reject the same file with the same message."""
    bad = operator_file(tmp_path, EXAMPLE.read_text().replace("jwt_replicas = 2", "jwt_replicas = 0"))
    with pytest.raises(ConfigError, match=r"kubernetes\.jwt_replicas: Input should be greater than or equal"):
        render(bad)
    up = subprocess.run([sys.executable, "-m", "notebooks_service", "up", "--config", str(bad)],
                        capture_output=True, text=True, timeout=60)
    render_cli = subprocess.run([sys.executable, "-m", "notebooks_service", "kubernetes", "values",
                                 "--config", str(bad)], capture_output=True, text=True, timeout=60)
    assert up.returncode == render_cli.returncode == 2
    message = "kubernetes.jwt_replicas: Input should be greater than or equal to 1"
    assert message in up.stderr and message in render_cli.stderr


def test_unpinned_images_are_refused(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("notebooks-user:0.1.0", "notebooks-user:latest")
    with pytest.raises(ConfigError, match=r"kubernetes\.user_image"):
        render(operator_file(tmp_path, text))


def chart_hub_config() -> Config:
    """What the chart's own hub config has set before our snippet runs: the services of
    `hub.services` with the API tokens it generated, and the culler's service and role."""
    c = Config()
    values = render(EXAMPLE).values["hub"]
    c.JupyterHub.services = [{"name": name, **entry, "api_token": f"chart-token-{name}"}
                             for name, entry in values["services"].items()]
    c.JupyterHub.services.append({"name": "cull-idle", "api_token": "cull"})
    c.JupyterHub.load_roles = [{"name": name, **role} for name, role in values["loadRoles"].items()]
    c.JupyterHub.load_roles.append({"name": "cull-idle", "scopes": ["list:users"], "services": ["cull-idle"]})
    return c


def test_the_rendered_snippet_configures_the_chart_hub_like_notebooks_up(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    c = chart_hub_config()
    rendered = render(EXAMPLE).values["hub"]
    for name, value in rendered["extraEnv"].items():  # as the pod gets them; the Secret's value here
        monkeypatch.setenv(name, value if isinstance(value, str) else "from-the-secret")
    # where the ConfigMap holding the file is mounted; the ledger (migrated when the hub is configured)
    # on SQLite, as no PostgreSQL answers in this test
    ledger = f"sqlite:///{tmp_path}/credits.sqlite"
    mounted = operator_file(tmp_path, EXAMPLE.read_text().replace(
        "postgresql+psycopg://notebooks@postgres.notebooks.svc:5432/credits", ledger))
    monkeypatch.setenv(CONFIG_ENV, str(mounted))
    exec(rendered["extraConfig"]["notebooks"], {"c": c})
    assert c.JupyterHub.spawner_class is KubeTokenSpawner
    auth = c.NotebooksAuthenticator
    assert (auth.issuer, auth.client_id, auth.client_secret) == (
        "https://aai.egi.eu/auth/realms/egi", "notebooks-example", "from-the-secret")
    assert auth.oauth_callback_url == "https://eu-1.notebooks.example.org/hub/oauth_callback"
    assert auth.refresh_margin_fraction == 0.5
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert set(services) == {"jwt", "tokens", "credits", "zones", "cull-idle"}
    assert services["jwt"]["api_token"] == "chart-token-jwt"  # the chart's token is kept
    assert services["jwt"]["url"] == "http://notebooks-jwt:8000"
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert len(roles) == len(c.JupyterHub.load_roles)  # merged by name, nothing declared twice
    assert "cull-idle" in roles
    assert "access:services!service=credits" in roles["user"]["scopes"]
    assert c.Spawner.token_service_url == "http://notebooks-tokens:8000/services/tokens/"


def test_the_snippet_names_a_missing_config_clearly() -> None:
    with pytest.raises(ConfigError, match=CONFIG_ENV):
        configure_kubernetes_hub(Config(), environ={})


def test_a_changed_operator_file_restarts_whatever_reads_it(tmp_path: Path) -> None:
    """A running process never re-reads a mounted ConfigMap: the file's digest sits in the hub's and
    our Deployments' pod templates, so `helm upgrade` and `kubectl apply` roll them."""
    def digests(path: Path) -> set[str]:
        rendered = render(path)
        found = {rendered.values["hub"]["annotations"]["notebooks-service/operator-file-sha256"]}
        for deployment in (o for o in rendered.objects if o["kind"] == "Deployment"):
            found.add(deployment["spec"]["template"]["metadata"]["annotations"][
                "notebooks-service/operator-file-sha256"])
        return found
    before = digests(EXAMPLE)
    changed = digests(operator_file(tmp_path, EXAMPLE.read_text().replace("amount = 500", "amount = 600")))
    assert len(before) == len(changed) == 1 and before != changed
