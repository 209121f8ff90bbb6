"""The media browser's views: they render the page shell and the sign-in form, nothing more.

Everything the page shows comes from the platform's JSON APIs, called by
``static/browse/browse.js`` with the session cookie and the CSRF token. That keeps this
app in ``apps/`` (which never imports a feature app, see pyproject's import-linter
contracts) and means the page exercises exactly the API every other client uses. The
API addresses are reversed here by URL name, so the script follows the URLconf instead
of repeating paths; an API that is not mounted leaves its address null and the script
hides what needs it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import LoginView, LogoutView
from django.middleware.csrf import get_token
from django.urls import NoReverseMatch, reverse, reverse_lazy
from django.views.generic import TemplateView

ID_SLOT = "__id__"  # replaced by an item's id in the script (encodeURIComponent)


def _url(name: str, *, with_id: bool = False) -> str | None:
    """The path of a named API route (with ``ID_SLOT`` for its id), or None if not mounted."""
    try:
        return reverse(name, args=[ID_SLOT] if with_id else None)
    except NoReverseMatch:
        return None


def api_urls() -> dict[str, str | None]:
    """The endpoints the page calls: user_library's and ai_media's (docs/browse.md)."""
    return {
        "library": _url("library-list"),
        "libraryItem": _url("library-item", with_id=True),
        "librarySimilar": _url("library-similar", with_id=True),
        "usage": _url("library-usage"),
        "feed": _url("ai-media-feed"),
        "media": _url("ai-media-item", with_id=True),
        "similar": _url("ai-media-similar", with_id=True),
        "tagCategories": _url("ai-media-tag-categories"),
    }


class BrowsePageView(LoginRequiredMixin, TemplateView):
    """The page shell for a signed-in user; anyone else is sent to the sign-in form."""

    template_name = "browse/page.html"
    login_url = reverse_lazy("browse:login")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # get_token also sets the CSRF cookie: the script's writes (upload, delete) pass
        # DRF's SessionAuthentication CSRF check with it in X-CSRFToken.
        context["browse_config"] = {"api": api_urls(), "idSlot": ID_SLOT,
                                    "csrfToken": get_token(self.request)}
        return context


class BrowseLoginView(LoginView):
    """Django's sign-in form in the page's own look; a signed-in user goes straight on."""

    template_name = "browse/login.html"
    redirect_authenticated_user = True
    next_page = "browse:page"  # a URL name: resolve_url() reverses it


class BrowseLogoutView(LogoutView):
    """Sign out (POST only, as Django requires) and land on the sign-in form."""

    next_page = "browse:login"
