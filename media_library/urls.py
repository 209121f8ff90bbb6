"""URLs of media_library, mounted under ``/workspaces/<workspace_id>/media-library/``.

Fixed segments (``grouped``, ``reorder``, ``recent``, ``bulk``, ``upload``) come before ``<id>`` so
they are never taken for an id. The four kinds share their object routes.
"""

from django.urls import URLPattern, path

from media_library import views
from media_library.kinds import KINDS


def _object_routes() -> list[URLPattern]:
    routes = []
    for key, kind in KINDS.items():
        options = {"kind": kind}
        routes += [
            path(f"{key}", views.ObjectListView.as_view(**options), name=f"ml-{key}"),
            path(f"{key}/<str:object_id>", views.ObjectDetailView.as_view(**options),
                 name=f"ml-{key}-detail"),
            path(f"{key}/<str:object_id>/restore", views.ObjectRestoreView.as_view(**options),
                 name=f"ml-{key}-restore"),
            path(f"{key}/<str:object_id>/permanent",
                 views.ObjectPermanentView.as_view(**options), name=f"ml-{key}-permanent"),
            path(f"{key}/<str:object_id>/use", views.ObjectUseView.as_view(**options),
                 name=f"ml-{key}-use"),
        ]
    return routes


urlpatterns = [
    path("categories", views.CategoryListView.as_view(), name="ml-categories"),
    path("categories/grouped", views.CategoryGroupedView.as_view(), name="ml-categories-grouped"),
    path("categories/reorder", views.CategoryReorderView.as_view(), name="ml-categories-reorder"),
    path("categories/<str:category_id>", views.CategoryDetailView.as_view(),
         name="ml-category"),
    path("items/recent", views.ItemRecentView.as_view(), name="ml-items-recent"),
    path("items/bulk", views.ItemBulkView.as_view(), name="ml-items-bulk"),
    path("items/upload", views.ItemUploadView.as_view(), name="ml-items-upload"),
    path("templates/<str:object_id>/clone", views.TemplateCloneView.as_view(),
         name="ml-templates-clone"),
    path("links/<str:object_id>/refresh-preview", views.LinkRefreshPreviewView.as_view(),
         name="ml-links-refresh-preview"),
    *_object_routes(),
    path("recycle-bin", views.RecycleBinView.as_view(), name="ml-recycle-bin"),
    path("recycle-bin/empty", views.RecycleBinEmptyView.as_view(), name="ml-recycle-bin-empty"),
]
