"""The spawn option section for credits: profile and paying wallet, prices, limits, admission.

Runs in the hub process and reads the ledger directly (it is the single source of truth), so the
form and admission need no call to the service. Admission happens in `validate`, which the spawner
runs for form and REST API starts alike; a refusal is an HTTP 402 whose HTML names the balance, the
price and how to get more (the hub shows it on the spawn form or the spawn-pending page).

While the ledger cannot be reached, admission cannot be checked: starts are refused with a 503 that
says so, and the form says so instead of listing wallets. Running servers are not affected.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any, ClassVar

from tornado import web

from notebooks_service.services.credits.choices import ChoiceError, choose, price_micro, runway_seconds
from notebooks_service.services.credits.config import CreditsSection, Profile
from notebooks_service.services.credits.ledger import UNREACHABLE, Ledger, balances, to_credits
from notebooks_service.services.credits.page import credits_text, templates
from notebooks_service.services.credits.status import format_duration, refresh_grants, user_wallets
from notebooks_service.spawner.options import SpawnOptionError

log = logging.getLogger(__name__)

GIB = 1024**3


class CreditsRefused(web.HTTPError):
    """A start refused for lack of credits; `jupyterhub_html_message` is what the user sees."""

    def __init__(self, message: str, html: str) -> None:
        super().__init__(402, message)
        self.jupyterhub_message = message
        self.jupyterhub_html_message = html


class CreditsUnavailable(web.HTTPError):
    """A start refused because the ledger is unreachable: a 503 the user may retry, where an unhandled
    database error would be a 500 that explains nothing."""

    MESSAGE = ("Credits cannot be checked right now: the credits ledger is unreachable. Servers already "
               "running keep running; please try to start again in a few minutes.")

    def __init__(self) -> None:
        super().__init__(503, self.MESSAGE)
        self.jupyterhub_message = self.MESSAGE
        self.jupyterhub_html_message = f'<p class="credits-refused">{self.MESSAGE}</p>'


class CreditsOptionSection:
    """Bound to settings by `hubconf.bind_section`; instantiated by the spawner without arguments."""

    settings: ClassVar[CreditsSection]
    ledger_url: ClassVar[str]
    page_url: ClassVar[str] = "/services/credits/"
    _ledger: ClassVar[Ledger | None] = None

    @classmethod
    def ledger(cls) -> Ledger:
        if cls._ledger is None:
            cls._ledger = Ledger.open(cls.ledger_url)
        return cls._ledger

    def _wallets(self, user: str, groups: list[str]) -> tuple[list[str], dict[str, int]]:
        """The user's wallets and balances (blocking; the hub's user object stays on its thread)."""
        try:
            refresh_grants(self.ledger(), self.settings, user, groups, datetime.now(UTC))
            with self.ledger().session() as session:
                wallets = user_wallets(session, self.settings, user, groups)
                return wallets, balances(session, wallets)
        except UNREACHABLE as e:
            log.warning("credits ledger unreachable while %s starts a server: %s", user, type(e).__name__)
            raise CreditsUnavailable() from None

    async def form_html(self, spawner: Any) -> str:
        groups = {g.name for g in spawner.user.groups}
        try:
            wallets, held = await asyncio.to_thread(self._wallets, spawner.user.name, sorted(groups))
        except CreditsUnavailable as e:
            return str(e.jupyterhub_html_message)
        profiles = self.settings.profiles_for(groups)
        if not profiles:
            return "<p>No server profile is available to your groups.</p>"
        default = choose(self.settings, spawner.user.name, groups, {}, wallets).profile
        return templates.get_template("service/spawn_form.html").render(
            profiles=[self._profile_row(name, p, name == default) for name, p in profiles.items()],
            wallets=[{"wallet": w, "balance": credits_text(held[w])} for w in wallets],
            page_url=self.page_url)

    @staticmethod
    def _profile_row(name: str, profile: Profile, checked: bool) -> dict[str, Any]:
        return {"name": name, "description": profile.description, "cpu": f"{profile.cpu:g}",
                "memory": f"{profile.memory_gb:g}", "gpu": profile.gpu or "—",
                "price": f"{profile.price_per_hour:g}", "checked": checked}

    def options_from_form(self, form: dict[str, list[str]]) -> dict[str, Any]:
        return {key: form[key][0] for key in ("profile", "wallet") if form.get(key) and form[key][0]}

    def validate(self, spawner: Any, user_options: dict[str, Any]) -> dict[str, Any]:
        user, groups = spawner.user.name, {g.name for g in spawner.user.groups}
        wallets, held = self._wallets(user, sorted(groups))
        try:
            choice = choose(self.settings, user, groups, user_options, wallets)
        except ChoiceError as e:
            raise SpawnOptionError(str(e)) from None
        if user not in self.settings.unlimited_users:
            self._admit(choice.profile, choice.wallet, held[choice.wallet])
        return {"profile": choice.profile, "wallet": choice.wallet}

    def _admit(self, name: str, wallet: str, balance: int) -> None:
        price = price_micro(self.settings.profiles[name])
        minimum = self.settings.minimum_runway
        if runway_seconds(balance, price) >= minimum:
            return
        needed = price * minimum // 3600
        message = (f"Not enough credits to start profile {name!r}: wallet {wallet} holds "
                   f"{credits_text(balance)} credits, the profile costs {to_credits(price):g} per hour, "
                   f"and a start needs at least {credits_text(needed)} ({format_duration(minimum)}). "
                   f"{self.settings.how_to_get_more}")
        html = templates.get_template("service/refused.html").render(
            profile=name, wallet=wallet, balance=credits_text(balance), price=f"{to_credits(price):g}",
            needed=credits_text(needed), runway=format_duration(minimum),
            how_to_get_more=self.settings.how_to_get_more, page_url=self.page_url)
        raise CreditsRefused(message, html)

    def environment(self, spawner: Any, options: dict[str, Any]) -> dict[str, str]:
        profile = self.settings.profiles[options["profile"]]
        env = {"MEM_LIMIT": str(int(profile.memory_gb * GIB)), "CPU_LIMIT": f"{profile.cpu:g}",
               "NOTEBOOKS_PROFILE": options["profile"], "NOTEBOOKS_CREDITS_WALLET": options["wallet"],
               "NOTEBOOKS_CREDITS_URL": self.page_url}
        if profile.gpu:
            env["NOTEBOOKS_GPU_LIMIT"] = str(profile.gpu)
        return env
