"""Routes of the tus 1.0.0 resumable uploads (``views_tus``), mounted by urls.py."""

from django.urls import URLPattern, URLResolver, path

from author_media import views_tus

urlpatterns: list[URLPattern | URLResolver] = [
    path("media/upload/tus/", views_tus.TusCreateView.as_view(), name="am-tus-create"),
    path("media/upload/tus/<str:upload_id>", views_tus.TusUploadView.as_view(),
         name="am-tus-upload"),
]
