"""Who is looking at a page: the session cookie (CSRF-checked on forms), and page refusals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from laotie.accounts.deps import optional_actor
from laotie.accounts.permissions import Actor, Role
from laotie.core.context import Ctx
from laotie.core.csrf import SAFE_METHODS
from laotie.core.deps import CtxDep
from laotie.core.errors import AppError
from laotie.web import forms
from laotie.web.pages import local_path, protect, redirect, render_bare

T = TypeVar("T")


class PageError(Exception):
    """A request a page answers with an error page rather than JSON."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SignInNeededError(Exception):
    """The page needs a signed-in user; the answer sends the browser to the sign-in form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


async def page_actor(request: Request, ctx: CtxDep) -> Actor | None:
    """Return the signed-in user; a form without the session's CSRF token is refused."""
    try:
        return await optional_actor(request, ctx)
    except AppError as error:
        raise PageError(error.status, error.message) from error


async def signed_in(actor: Annotated[Actor | None, Depends(page_actor)], request: Request) -> Actor:
    """Return the signed-in user, or send the browser to sign in and come back."""
    if actor is None:
        raise SignInNeededError(_come_back_to(request))
    return actor


async def seller(actor: Annotated[Actor, Depends(signed_in)]) -> Actor:
    """Return the signed-in seller; others are refused."""
    if not actor.has(Role.SELLER):
        raise PageError(403, "The seller back office is for sellers.")
    return actor


async def operator(actor: Annotated[Actor, Depends(signed_in)]) -> Actor:
    """Return the signed-in operator; others are refused."""
    if not actor.has(Role.OPERATOR):
        raise PageError(403, "This page is for platform operators.")
    return actor


async def anchor(actor: Annotated[Actor, Depends(signed_in)]) -> Actor:
    """Return the signed-in anchor; others are refused."""
    if not actor.has(Role.ANCHOR):
        raise PageError(403, "This page is for anchors: sign up as an anchor to sell.")
    return actor


MaybeViewer = Annotated[Actor | None, Depends(page_actor)]
Viewer = Annotated[Actor, Depends(signed_in)]
SellerViewer = Annotated[Actor, Depends(seller)]
AnchorViewer = Annotated[Actor, Depends(anchor)]
OperatorViewer = Annotated[Actor, Depends(operator)]


async def attempt(ctx: Ctx, action: Callable[[], Awaitable[T]]) -> T:
    """Run a change in a savepoint, so that a refusal leaves nothing half done.

    A page turns a refusal into a message instead of an error answer, so the request's
    transaction still commits; the savepoint makes sure the refused part is not in it.
    """
    hooks = len(ctx.after_commit)
    try:
        async with ctx.db.begin_nested():
            return await action()
    except AppError:
        del ctx.after_commit[hooks:]
        raise


# A form's choice: the change it makes, and what to say once made (from what it answered).
FormAction = tuple[Callable[[], Awaitable[Any]], str | Callable[[Any], str]]


async def act_on_form(
    request: Request, ctx: Ctx, choices: dict[str, FormAction], back: str | None = None
) -> RedirectResponse:
    """Make the change a form's `action` field chooses, and go back with its message.

    A refusal goes back with its message instead, leaving nothing half done (`attempt`);
    `back` is the form's own `back` field, a local path, unless given.
    """
    form = await request.form()
    back = back or local_path(forms.text(form, "back"), "/")
    try:
        chosen = choices[forms.choice(form, "action", tuple(choices))]
    except AppError as error:
        return redirect(request, back, error.message, "error")
    return await act_and_go_back(request, ctx, back, chosen)


async def act_and_go_back(
    request: Request, ctx: Ctx, back: str, action: FormAction
) -> RedirectResponse:
    """Make one change and go back with its message, or with the refusal's.

    The change may read its form too: a field that does not parse is a refusal like any
    other, and nothing of the change is kept (`attempt`).
    """
    change, said = action
    try:
        answer = await attempt(ctx, change)
    except ValidationError as error:
        return redirect(request, back, forms.explain(error).message, "error")
    except AppError as error:
        return redirect(request, back, error.message, "error")
    return redirect(request, back, said(answer) if callable(said) else said)


def _come_back_to(request: Request) -> str:
    """Return where to go after signing in: this page, or for a form the page it was on."""
    if request.method in SAFE_METHODS:
        query = f"?{request.url.query}" if request.url.query else ""
        return request.url.path + query
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path.startswith("/"):
        return referer.path
    return "/"


def install_page_errors(app: FastAPI) -> None:
    """Answer page refusals with an error page, and anonymous visitors with the sign-in form."""

    @app.exception_handler(PageError)
    async def _refused(_request: Request, error: PageError) -> HTMLResponse:
        return render_bare("error.html", status=error.status, message=error.message)

    @app.exception_handler(SignInNeededError)
    async def _sign_in(_request: Request, error: SignInNeededError) -> RedirectResponse:
        response = RedirectResponse(f"/sign-in?next={quote(error.next_path)}", status_code=303)
        protect(response)
        return response
