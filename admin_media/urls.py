"""URLs of admin_media; mounted under ``/api/`` by config/urls.py."""

from django.urls import URLPattern, URLResolver, path

from admin_media.views import AdminMediaView, MediaFileView

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/media", AdminMediaView.as_view(), name="admin-media"),
    path("admin/media/<str:media_id>/file/<str:token>", MediaFileView.as_view(),
         name="admin-media-file"),
]
