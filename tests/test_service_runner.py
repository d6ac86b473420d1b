"""What every service of ours reads from the hub's environment (`services.runner`), in one place."""

from __future__ import annotations

import pytest

from notebooks_service.services.runner import DRAIN_ENV, CannotStart, HubServiceEnvironment, drain_seconds

HUB = {"JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api/", "JUPYTERHUB_API_TOKEN": "service-token"}


def test_the_hubs_variables_say_where_to_listen_and_whom_to_call() -> None:
    env = HubServiceEnvironment.from_environ("/services/x/", environ={
        **HUB, "JUPYTERHUB_SERVICE_URL": "http://10.0.0.5:9000", "JUPYTERHUB_SERVICE_PREFIX": "/services/y"})
    assert env == HubServiceEnvironment(api_url="http://127.0.0.1:8081/hub/api", api_token="service-token",
                                        prefix="/services/y/", host="10.0.0.5", port=9000)
    assert env.url == "http://10.0.0.5:9000/services/y/"


def test_empty_variables_fall_back_to_the_services_defaults() -> None:
    env = HubServiceEnvironment.from_environ("/services/x/", "http://127.0.0.1:8091", {
        **HUB, "JUPYTERHUB_SERVICE_URL": "", "JUPYTERHUB_SERVICE_PREFIX": ""})
    assert (env.host, env.port, env.prefix) == ("127.0.0.1", 8091, "/services/x/")


def test_what_is_missing_is_named() -> None:
    missing = "missing environment: JUPYTERHUB_API_TOKEN, JUPYTERHUB_SERVICE_URL"
    with pytest.raises(CannotStart, match=missing):
        HubServiceEnvironment.from_environ("/services/x/", environ={"JUPYTERHUB_API_URL": "http://hub/api"})


def test_the_drain_is_off_unless_the_render_sets_it_and_bad_values_are_named() -> None:
    assert drain_seconds({}) == 0
    assert drain_seconds({DRAIN_ENV: "5"}) == 5
    for bad, reason in (("soon", "not a number"), ("-1", "between 0 and 60"), ("600", "between 0 and 60")):
        with pytest.raises(CannotStart, match=f"{DRAIN_ENV} .*{reason}"):
            drain_seconds({DRAIN_ENV: bad})
