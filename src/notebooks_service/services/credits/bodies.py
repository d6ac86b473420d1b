"""Request bodies of the credits API, validated with pydantic before anything reaches the ledger.

Hand-written checks let `NaN` through (`NaN <= 0` is false) and turned wrong types into 500s; a model
refuses non-finite numbers, wrong types and unknown keys alike, and names the field in its 400.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from pydantic_core import ErrorDetails

MAX_AMOUNT = 1e9
"""Credits in one entry; far above any grant, and well inside the ledger's 64-bit micro-credits."""


class BodyError(ValueError):
    """A request body the API refuses; the message says which field and why."""


class EntryBody(BaseModel):
    """`POST api/wallets/<wallet>/entries`: an admin's grant, refund or adjustment."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    kind: Literal["grant", "refund", "adjustment"]
    amount: Annotated[float, Field(allow_inf_nan=False, ge=-MAX_AMOUNT, le=MAX_AMOUNT)]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    expires_in_days: Annotated[float, Field(allow_inf_nan=False, gt=0, le=36500)] | None = None
    """Grants only: when what is left of the grant expires; default `credits.grant_lifetime_days`."""

    @model_validator(mode="after")
    def _signed(self) -> EntryBody:
        if self.kind in ("grant", "refund") and self.amount <= 0:
            raise ValueError(f"a {self.kind} must be positive; use an adjustment to take credits")
        if self.kind == "adjustment" and self.amount == 0:
            raise ValueError("an adjustment of 0 changes nothing")
        if self.expires_in_days is not None and self.kind != "grant":
            raise ValueError("expires_in_days applies to grants only")
        return self


def parse_entry(raw: bytes) -> EntryBody:
    """The body as an `EntryBody`, or `BodyError` with one line per problem.

    JSON is parsed by the standard library first because it accepts the `NaN` and `Infinity`
    literals, which pydantic's own JSON parser would report less clearly; the model then refuses them.
    """
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BodyError("the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise BodyError("the body must be a JSON object with kind, amount and reason")
    try:
        return EntryBody.model_validate(data)
    except ValidationError as e:
        raise BodyError("; ".join(_describe(err) for err in e.errors(include_url=False))) from None


def _describe(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
