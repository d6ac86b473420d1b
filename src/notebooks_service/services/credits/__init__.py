"""Credits for notebook resource use: profiles with prices, wallets, a ledger, charging and enforcement.

The ledger (SQLAlchemy, Alembic migrations) is the single source of truth. The hub reads it at spawn
time (admission, the form's balances); the hub-managed service at `/services/credits` charges running
servers, stops servers at zero, and serves the REST API, the credits page and Prometheus metrics.
"""
