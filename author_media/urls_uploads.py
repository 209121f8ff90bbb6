"""Routes of author_media mounted by urls.py (see its docstring); filled by its feature."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
