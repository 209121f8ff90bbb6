"""Root URLconf: the platform's own endpoints and the five feature apps at their prefixes."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.metrics import metrics_view
from apps.core.views import healthz

admin.site.site_header = "Media platform console"
admin.site.site_title = "Media platform"
admin.site.index_title = "Operations"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),  # Prometheus (docs/deployment.md)
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/auth/", include("apps.accounts.urls.auth")),
    path("api/workspaces/", include("apps.accounts.urls.workspaces")),
    path("files/", include("apps.storage.urls")),
    path("browse/", include("apps.browse.urls")),  # the media browser page (docs/browse.md)
    # The five media-library APIs (see docs/architecture.md for their dialects).
    path("api/", include("user_library.urls")),
    path("workspaces/<str:workspace_id>/media-library/", include("media_library.urls")),
    path("api/", include("admin_media.urls")),
    path("api/", include("ai_media.urls")),
    path("v1/", include("author_media.urls")),
]

handler404 = "apps.core.views.not_found"
handler500 = "apps.core.views.server_error"
