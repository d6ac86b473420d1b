"""The launcher-facing settings model of the development IdP rejects mistakes loudly."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from notebooks_service.config.schema import DevIdpSection
from notebooks_service.idp.settings import IdpClient, IdpSettings


def settings(**overrides: object) -> IdpSettings:
    base: dict[str, object] = {
        "issuer": "http://127.0.0.1:8010/",
        "port": 8010,
        "state_dir": "/tmp/state",
        "dev_idp": DevIdpSection(),
        "clients": [IdpClient(client_id="a")],
    }
    return IdpSettings.model_validate(base | overrides)


def test_round_trips_through_json_and_strips_trailing_slash() -> None:
    parsed = IdpSettings.model_validate_json(settings().model_dump_json())
    assert parsed.issuer == "http://127.0.0.1:8010"
    assert parsed.groups_claim == "eduperson_entitlement"
    assert parsed.clients[0].is_public
    assert parsed.clients[0].grant_types == ["authorization_code", "refresh_token"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"unexpected": 1},
        {"issuer": "127.0.0.1:8010"},
        {"clients": [{"client_id": "a"}, {"client_id": "a"}]},
        {"clients": [{"client_id": "a", "grant_types": ["implicit"]}]},
        {"clients": [{"client_id": "a", "access_token_format": "macaroon"}]},
        {"clients": [{"client_id": "a", "secret": "typo"}]},
    ],
)
def test_rejects_invalid_settings(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        settings(**overrides)
