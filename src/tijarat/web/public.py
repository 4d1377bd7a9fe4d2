"""Pages anyone may open: sign in, sign out, choose a language; the front door redirects."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tijarat.identity.users import USERNAME_LENGTH_MAX, User, authenticate, set_locale
from tijarat.kernel.errors import DomainError
from tijarat.web import csrf
from tijarat.web.i18n import LANGUAGES
from tijarat.web.messages import ERRORS
from tijarat.web.routing import (
    LANGUAGE_COOKIE,
    SESSION_USER,
    SESSION_VERSION,
    Pages,
    redirect,
    site_of,
    text,
)
from tijarat.web.site import path_for

pages = Pages()
LANGUAGE_COOKIE_MAX_AGE_S = 365 * 86_400
NEXT_LENGTH_MAX = 500


def _home_of(request: Request, user: User) -> str:
    return path_for(request, "operator_home" if user.is_operator else "home")


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never "//elsewhere" or "https://elsewhere" (open redirect)."""
    if not target or len(target) > NEXT_LENGTH_MAX:
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@pages.public_page("/", name="front")
async def front(request: Request) -> Response:
    user: User | None = request.state.user
    if user is None:
        return redirect(request, "sign_in")
    return RedirectResponse(_home_of(request, user), status_code=303)


@pages.public_page("/sign-in", name="sign_in")
async def sign_in_page(request: Request) -> Response:
    user: User | None = request.state.user
    if user is not None:
        return RedirectResponse(_home_of(request, user), status_code=303)
    return site_of(request).render(
        request,
        "sign_in.html",
        {"next": _safe_next(request.query_params.get("next")), "username": "", "error": None},
    )


@pages.public_action("/sign-in", name="sign_in_submit")
async def sign_in(request: Request, form: FormData) -> Response:
    site = site_of(request)
    username = text(form, "username", length_max=USERNAME_LENGTH_MAX)
    password = form.get("password")
    target = _safe_next(text(form, "next", length_max=NEXT_LENGTH_MAX))
    try:
        user = await run_in_threadpool(
            authenticate,
            site.container.engine,
            username,
            password if isinstance(password, str) else "",
            clock=site.container.clock,
        )
    except DomainError as error:
        return site.render(
            request,
            "sign_in.html",
            {
                "next": target,
                "username": username,
                "error": site.translate(request.state.language, ERRORS[error.code]),
            },
            status=error.status,
        )
    # A fresh session (and CSRF token) at sign-in: nothing from before carries over.
    request.session.clear()
    request.session[SESSION_USER] = str(user.id)
    request.session[SESSION_VERSION] = user.session_version
    csrf.rotate(request.session)
    return RedirectResponse(target or _home_of(request, user), status_code=303)


@pages.public_action("/sign-out", name="sign_out")
async def sign_out(request: Request, form: FormData) -> Response:  # noqa: ARG001 - CSRF-checked
    request.session.clear()
    csrf.rotate(request.session)
    return redirect(request, "sign_in")


@pages.public_action("/language", name="language")
async def language(request: Request, form: FormData) -> Response:
    """Switch language: stored on the user when signed in, in a cookie for everyone."""
    chosen = text(form, "language", length_max=8)
    if chosen not in LANGUAGES:
        chosen = request.state.language
    user: User | None = request.state.user
    if user is not None and chosen != user.locale:
        await run_in_threadpool(set_locale, site_of(request).container.engine, user.id, chosen)
    target = _safe_next(text(form, "next", length_max=NEXT_LENGTH_MAX))
    response = RedirectResponse(target or path_for(request, "front"), status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        chosen,
        max_age=LANGUAGE_COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=site_of(request).production,
    )
    return response
