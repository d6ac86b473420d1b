"""Spawn options assembled from independent sections (token mounting, server size, paying wallet...).

Each capability contributes one section: its part of the spawn form, how to read that part back from
the form, and how to check the `user_options` it owns (which also arrive through the REST API). The
spawner mixin composes the sections, so no capability edits another's form.
"""

from __future__ import annotations

import inspect
from typing import Any, Protocol

from traitlets import Any as AnyTrait
from traitlets import Dict, List, Type, default
from traitlets.config import Configurable


class SpawnOptionError(ValueError):
    """A user option is invalid; the message is shown to the user."""


class SpawnOptionSection(Protocol):
    """One capability's part of the spawn options."""

    def form_html(self, spawner: Any) -> str:
        """HTML for the spawn form (may be a coroutine function); empty to show nothing."""
        ...

    def options_from_form(self, form: dict[str, list[str]]) -> dict[str, Any]:
        """The `user_options` keys this section owns, read from the submitted form."""
        ...

    def validate(self, spawner: Any, user_options: dict[str, Any]) -> dict[str, Any]:
        """The normalized values of the keys this section owns; raise SpawnOptionError if bad."""
        ...

    def environment(self, spawner: Any, options: dict[str, Any]) -> dict[str, str]:
        """Environment variables the server gets for the validated `options` (may be empty)."""
        ...


class SpawnOptionsMixin(Configurable):
    """Give a spawner a form and validated `user_options` built from option sections.

    Configurable, so that `c.SpawnOptionsMixin.option_sections` reaches every spawner using it (local
    processes and Kubernetes pods alike).
    """

    option_sections = List(
        Type(klass=object),
        config=True,
        help="""Classes of the spawn option sections to offer, in form order.

        Each is instantiated without arguments and follows
        :class:`notebooks_service.spawner.options.SpawnOptionSection`.
        """,
    )

    validated_options = Dict(
        help="The user options of the current start, as normalized by the sections.")

    @default("options_form")
    def _options_form_default(self) -> AnyTrait:
        if not self.option_sections:
            return ""
        return lambda spawner: spawner.render_options_form()

    def _sections(self) -> list[SpawnOptionSection]:
        if not hasattr(self, "_section_instances"):
            self._section_instances = [cls() for cls in self.option_sections]
        return self._section_instances

    async def render_options_form(self) -> str:
        parts = []
        for section in self._sections():
            html = section.form_html(self)
            if inspect.isawaitable(html):
                html = await html
            if html:
                parts.append(html)
        return "\n".join(parts)

    def options_from_form(self, form_data: dict[str, list[str]]) -> dict[str, Any]:
        options: dict[str, Any] = {}
        for section in self._sections():
            options.update(section.options_from_form(form_data))
        return options

    def validated_user_options(self) -> dict[str, Any]:
        """Every section's normalized options; unknown keys are refused so typos do not pass."""
        user_options = dict(getattr(self, "user_options", None) or {})
        validated: dict[str, Any] = {}
        for section in self._sections():
            validated.update(section.validate(self, user_options))
        unknown = sorted(set(user_options) - set(validated))
        if unknown:
            raise SpawnOptionError(f"unknown server option(s): {', '.join(unknown)}")
        return validated

    async def start(self) -> Any:
        """Validate the options before the server starts, so a bad option fails the spawn clearly."""
        self.validated_options = self.validated_user_options()
        return await super().start()  # type: ignore[misc]

    def get_env(self) -> dict[str, str]:
        env = super().get_env()  # type: ignore[misc]
        for section in self._sections():
            env.update(section.environment(self, self.validated_options))
        return env
