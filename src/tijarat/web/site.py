"""What every page shares: templates per language, the static files, flash messages."""

from __future__ import annotations

import hashlib
import mimetypes
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from babel.support import Translations
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from tijarat.bootstrap import Container
from tijarat.identity.users import Role, User
from tijarat.kernel.errors import DomainError
from tijarat.kernel.identifiers import Iban, MobileNumber
from tijarat.web import csrf
from tijarat.web.i18n import DIRECTIONS, LANGUAGES, Formats, load_translations
from tijarat.web.messages import (
    MOVEMENT_KINDS,
    MOVEMENT_STATUSES,
    N_,
    ORDER_STEPS,
    PARTICIPANT_CATEGORIES,
    PAYMENT_STATUSES,
    REASONS,
    WORDS,
)
from tijarat.web.once import Once

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
FLASH_KEY = "flash"
FLASHES_MAX = 5  # the session is a cookie: keep what it carries small
STATIC_CACHE_S = 365 * 86_400  # versioned URLs never change content
# The menu per role; an entry shows only when its page exists (business pages arrive as the
# wallet, trade and supply services they show grow).
NAVIGATION: dict[Role, tuple[tuple[str, str], ...]] = {
    Role.OPERATOR: (
        ("operator_home", N_("Overview")),
        ("operator_participants", N_("Participants")),
        ("operator_payments", N_("Payments")),
        ("operator_messages", N_("ISO 20022 messages")),
        ("operator_returns", N_("Returns")),
    ),
    Role.BUSINESS: (
        ("home", N_("Home")),
        ("orders", N_("Orders")),
        ("inventory", N_("Inventory")),
        ("suppliers", N_("Suppliers")),
        ("wallet", N_("Wallet")),
        ("payment_qr", N_("Payment QR")),
    ),
}


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    media_type: str
    version: str  # a digest of the body: part of the URL, so a change busts every cache


def _static_files() -> dict[str, StaticFile]:
    files = {}
    for path in sorted(STATIC.iterdir()):
        if path.is_file():
            body = path.read_bytes()
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if media_type.startswith("text/") or media_type.endswith("javascript"):
                media_type += "; charset=utf-8"
            files[path.name] = StaticFile(body, media_type, hashlib.sha256(body).hexdigest()[:12])
    return files


def path_for(request: Request, route: str, /, **params: Any) -> str:
    """A page's path, named in the dashboard's own routes.

    Not `request.url_for`: that searches the outermost app first, and the API beside us has
    routes of the same names (its `suppliers`, `orders`...). The mount's root path is kept.
    """
    app: Starlette = request.app
    return str(request.scope.get("root_path", "")) + str(app.url_path_for(route, **params))


def flash(request: Request, kind: str, message: str) -> None:
    """A message for the next page shown (kind: "ok" or "error"); already translated."""
    queued = list(request.session.get(FLASH_KEY, []))[-(FLASHES_MAX - 1) :]
    queued.append([kind, message])
    request.session[FLASH_KEY] = queued


def national_mobile(e164: str) -> str:
    """+923551234567 -> 0355 1234567, as Pakistanis write it (unchanged if unparsable)."""
    try:
        return MobileNumber.parse(e164).national
    except DomainError:
        return e164


def _grouped_iban(compact: str) -> str:
    """PK36SCBL0000001123456702 -> PK36 SCBL 0000 0011 2345 6702 (unchanged if unparsable)."""
    try:
        return Iban.parse(compact).formatted
    except DomainError:
        return compact


class Site:
    def __init__(self, container: Callable[[], Container], *, production: bool) -> None:
        self._container = container
        self.production = production
        self.translations: dict[str, Translations] = {
            language: load_translations(language) for language in LANGUAGES
        }
        self.environments = {language: self._environment(language) for language in LANGUAGES}
        self.static = _static_files()
        # Answers to forms whose action is not idempotent further down (requests to pay).
        self.once: Once[Any] = Once()

    @property
    def container(self) -> Container:
        return self._container()

    def _environment(self, language: str) -> jinja2.Environment:
        # One environment per language: templates are compiled once per language and no
        # request can see another's gettext (installing translations per request would race).
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        environment.install_gettext_translations(  # type: ignore[attr-defined] # the i18n extension adds it
            self.translations[language], newstyle=True
        )
        formats = Formats(language)
        environment.filters["money"] = formats.money
        environment.filters["number"] = formats.number
        environment.filters["moment"] = formats.moment
        environment.filters["short_moment"] = formats.short_moment
        environment.filters["short_date"] = formats.short_date
        environment.filters["mobile"] = national_mobile
        environment.filters["iban"] = _grouped_iban
        environment.globals["formats"] = formats
        environment.globals["language"] = language
        environment.globals["direction"] = DIRECTIONS[language]
        environment.globals["status_text"] = PAYMENT_STATUSES
        environment.globals["reason_text"] = REASONS
        environment.globals["category_text"] = PARTICIPANT_CATEGORIES
        environment.globals["kind_text"] = MOVEMENT_KINDS
        environment.globals["movement_status_text"] = MOVEMENT_STATUSES
        environment.globals["word_text"] = WORDS
        environment.globals["step_text"] = ORDER_STEPS
        # A fresh idempotency key for each form rendered: submitting it twice acts once.
        environment.globals["new_id"] = lambda: str(uuid.uuid4())
        return environment

    def translate(self, language: str, message: str, **values: Any) -> str:
        text = self.translations[language].gettext(message)
        return text % values if values else text

    def static_url(self, request: Request, name: str) -> str:
        return f"{path_for(request, 'static', name=name)}?v={self.static[name].version}"

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status: int = 200,
    ) -> Response:
        language: str = getattr(request.state, "language", "en")
        user: User | None = getattr(request.state, "user", None)
        flashes = request.session.pop(FLASH_KEY, []) if FLASH_KEY in request.session else []

        names = {getattr(route, "name", None) for route in request.app.routes}
        navigation = [
            (name, self.translate(language, label))
            for name, label in (NAVIGATION[user.role] if user else ())
            if name in names
        ]

        def path(name: str, **params: Any) -> str:
            return path_for(request, name, **params)

        page = self.environments[language].get_template(template)
        body = page.render(
            {
                "request": request,
                "user": user,
                "csrf_token": csrf.token(request.session),
                "csrf_field": Markup('<input type="hidden" name="{}" value="{}">').format(
                    csrf.FIELD, csrf.token(request.session)
                ),
                "flashes": flashes,
                "navigation": navigation,
                "path": path,
                "static": lambda name: self.static_url(request, name),
                "current": request.url.path,
                **(context or {}),
            }
        )
        response = HTMLResponse(body, status_code=status)
        # Pages show balances and payments: never keep them in shared or browser caches.
        response.headers["cache-control"] = "no-store"
        return response
