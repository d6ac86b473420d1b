"""The operator example `deploy/examples/credits.toml` means what its comments say."""

from pathlib import Path

from notebooks_service.config import load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "credits.toml"


def test_credits_example_limits_profiles_by_group_and_grants_every_90_days() -> None:
    credits = load_config(EXAMPLE).credits
    assert credits.enabled and list(credits.profiles) == ["small", "medium", "gpu"]
    assert list(credits.profiles_for(["researchers"])) == ["small", "medium"]
    assert list(credits.profiles_for(["gpu-users"])) == ["small", "medium", "gpu"]
    assert list(credits.profiles_for(["visitors"])) == ["small"]
    assert {g.period_days for g in credits.grants.values()} == {90}
    assert all(g.cap >= g.amount for g in credits.grants.values())
    assert credits.grants["project-x"].wallet == "project" and credits.grant_lifetime_days == 180
