"""URLs of author_media; mounted by config/urls.py. Endpoints arrive with the app's issue."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
