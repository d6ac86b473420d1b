"""The token-release service (`/services/tokens`): hands the owner's current access token to the owner's
own, unshared server. A pure async core (`core`) and a thin tornado application (`app`)."""
