"""URLs of ai_media, mounted under ``/api/`` by config/urls.py (``search/semantic``
before anything that could take it as a value)."""

from django.urls import path

from ai_media import views

urlpatterns = [
    path("feed", views.FeedView.as_view(), name="ai-media-feed"),
    path("search/semantic", views.SemanticSearchView.as_view(), name="ai-media-semantic"),
    path("search", views.SearchView.as_view(), name="ai-media-search"),
    path("tag-categories", views.TagCategoriesView.as_view(), name="ai-media-tag-categories"),
    path("media", views.MediaCreateView.as_view(), name="ai-media-create"),
    path("media/<str:media_id>", views.MediaItemView.as_view(), name="ai-media-item"),
    path("similar/<str:media_id>", views.SimilarView.as_view(), name="ai-media-similar"),
]
