"""URLs of author_media, mounted at ``/v1/`` by config/urls.py.

Fixed segments (``upload``, ``folders``, ``usage``, ``files``) come before ``<id>``;
ids are digits, so nothing else is taken for one.
"""

from django.urls import URLPattern, URLResolver, include, path, re_path

from author_media import views, views_admin, views_content, views_usage

urlpatterns: list[URLPattern | URLResolver] = [
    path("media/upload", views.MediaUploadView.as_view(), name="am-upload"),
    # presigned + confirm, multipart; tus; optimize/resize/crop/variants
    path("", include("author_media.urls_uploads")),
    path("", include("author_media.urls_tus")),
    path("", include("author_media.urls_processing")),
    path("media", views.MediaListView.as_view(), name="am-list"),
    path("media/folders", views.FolderListView.as_view(), name="am-folders"),
    re_path(r"^media/folders/(?P<folder_name>.+)$", views.FolderDetailView.as_view(),
            name="am-folder"),
    path("media/usage", views_usage.UsageView.as_view(), name="am-usage"),
    path("media/usage/breakdown", views_usage.UsageBreakdownView.as_view(),
         name="am-usage-breakdown"),
    path("media/files/<int:media_id>/<str:token>", views_content.content, name="am-content"),
    path("media/files/<int:media_id>/<str:token>/<str:spec>", views_content.content,
         name="am-content-variant"),
    path("media/<str:media_id>", views.MediaDetailView.as_view(), name="am-detail"),
    path("media/<str:media_id>/move", views.MediaMoveView.as_view(), name="am-move"),
    path("admin/media/quarantined", views_admin.QuarantinedListView.as_view(),
         name="am-admin-quarantined"),
    path("admin/media/<str:media_id>/release", views_admin.ReleaseView.as_view(),
         name="am-admin-release"),
]
