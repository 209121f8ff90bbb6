"""Routes of the presigned and multipart uploads (mounted by urls.py before
``media/<id>``; see views_uploads)."""

from django.urls import URLPattern, URLResolver, path

from author_media import views_uploads

urlpatterns: list[URLPattern | URLResolver] = [
    path("media/upload/presigned", views_uploads.PresignedUploadView.as_view(),
         name="am-upload-presigned"),
    # local storage: the signed upload URL a presigned upload (or a part) is sent to
    path("media/upload/presigned/<str:token>", views_uploads.UploadTargetView.as_view(),
         name="am-upload-target"),
    path("media/upload/confirm", views_uploads.ConfirmUploadView.as_view(),
         name="am-upload-confirm"),
    path("media/upload/multipart/initiate", views_uploads.MultipartInitiateView.as_view(),
         name="am-multipart-initiate"),
    path("media/upload/multipart/part", views_uploads.MultipartPartView.as_view(),
         name="am-multipart-part"),
    path("media/upload/multipart/complete", views_uploads.MultipartCompleteView.as_view(),
         name="am-multipart-complete"),
    path("media/upload/multipart/abort", views_uploads.MultipartAbortView.as_view(),
         name="am-multipart-abort"),
]
