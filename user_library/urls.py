"""URLs of user_library, mounted under ``/api/`` by config/urls.py.

``batch`` and ``usage`` come before ``<item_id>`` so they are never taken for an id, and
``<item_id>/similar`` before ``<item_id>`` (whose ``str`` converter stops at a slash
anyway) so the order states the intent.
"""

from django.urls import path

from user_library import views

urlpatterns = [
    path("library", views.LibraryListView.as_view(), name="library-list"),
    path("library/batch", views.LibraryBatchDeleteView.as_view(), name="library-batch"),
    path("library/usage", views.LibraryUsageView.as_view(), name="library-usage"),
    path("library/<str:item_id>/similar", views.LibrarySimilarView.as_view(),
         name="library-similar"),
    path("library/<str:item_id>", views.LibraryItemView.as_view(), name="library-item"),
]
