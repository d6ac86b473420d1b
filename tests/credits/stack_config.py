"""A stack with credits on: prices high and intervals short, so credits run out in seconds."""

from __future__ import annotations

from typing import Any

USERS = [
    {"username": "alice", "email": "alice@example.org", "name": "Alice", "groups": ["researchers", "proj"]},
    {"username": "bob", "email": "bob@example.org", "name": "Bob", "groups": ["researchers", "proj"]},
    {"username": "admin", "email": "admin@example.org", "name": "Admin", "groups": ["admins"]},
    {"username": "dave", "email": "dave@example.org", "name": "Dave", "groups": ["researchers"]},
]

HOW_TO_GET_MORE = "Write to credits@example.org with your project number."


def credits_sections(database_url: str = "") -> dict[str, dict[str, Any]]:
    return {
        "credits": {
            "enabled": True, "database_url": database_url, "posting_interval": 2, "grace_period": 4,
            "minimum_runway": 30, "warning_thresholds": [35, 15], "unlimited_users": ["admin"],
            "how_to_get_more": HOW_TO_GET_MORE, "default_profile": "small",
        },
        "credits.profiles.small": {"description": "1 CPU, 1 GiB", "cpu": 1, "memory_gb": 1,
                                   "price_per_hour": 72},
        "credits.profiles.large": {"description": "4 CPU, 8 GiB", "cpu": 4, "memory_gb": 8,
                                   "price_per_hour": 720, "groups": ["researchers", "admins"]},
        "credits.grants.researchers": {"amount": 5, "period_days": 90},
        "credits.grants.proj": {"amount": 3, "wallet": "project"},
    }
