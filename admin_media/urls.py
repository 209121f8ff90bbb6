"""URLs of admin_media; mounted under ``/api/`` by config/urls.py."""

from django.urls import URLPattern, URLResolver, path

from admin_media.views import AdminMediaView

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/media", AdminMediaView.as_view(), name="admin-media"),
]
