"""The spawn option "Mount my access token in this server" (`user_options["mount_access_token"]`).

Off by default: a server that is later shared must not expose the owner's token.
"""

from __future__ import annotations

from typing import Any

from notebooks_service.spawner.options import SpawnOptionError

MOUNT_OPTION = "mount_access_token"

_FORM = """
<div class="form-group notebooks-token-option">
  <div class="checkbox">
    <label>
      <input type="checkbox" name="{key}" value="on">
      Mount my access token in this server
    </label>
  </div>
  <p class="help-block">The files <code>access_token</code> and <code>id_token</code> are kept fresh in the
  server's secrets directory (<code>$OIDC_ACCESS_TOKEN_FILE</code>). Leave this off if you will share
  the server: sharing removes the token anyway.</p>
</div>
"""


def wants_token(user_options: dict[str, Any] | None) -> bool:
    """Whether the options ask for the token; only a real `true` counts."""
    return (user_options or {}).get(MOUNT_OPTION) is True


class MountAccessTokenOption:
    """Spawn option section: one checkbox, one boolean user option."""

    def form_html(self, spawner: Any) -> str:
        """Always unchecked, whatever the previous start chose: mounting is a deliberate choice."""
        return _FORM.format(key=MOUNT_OPTION)

    def options_from_form(self, form: dict[str, list[str]]) -> dict[str, Any]:
        return {MOUNT_OPTION: form.get(MOUNT_OPTION, [""])[0] == "on"}

    def validate(self, spawner: Any, user_options: dict[str, Any]) -> dict[str, Any]:
        value = user_options.get(MOUNT_OPTION, False)
        if not isinstance(value, bool):
            raise SpawnOptionError(f"{MOUNT_OPTION} must be true or false, not {value!r}")
        return {MOUNT_OPTION: value}

    def environment(self, spawner: Any, options: dict[str, Any]) -> dict[str, str]:
        """None here: the file variables come from the delivery mixin, which knows the directory."""
        return {}
