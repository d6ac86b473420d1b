"""The shipped example configs stay valid as the schema evolves."""

from pathlib import Path

import pytest

from notebooks_service.config import load_config

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "deploy" / "examples").glob("*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_config_is_valid(path: Path) -> None:
    config = load_config(path)
    assert config.oidc.issuer or config.dev_idp.enabled


def test_examples_exist() -> None:
    assert {p.stem for p in EXAMPLES} >= {"development", "egi-checkin"}
