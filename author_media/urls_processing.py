"""Routes of author_media's image processing (mounted by urls.py before ``media/<id>``
and before the content URLs, see its docstring): optimize, resize, crop, variants, the
operations' state, and the content URL of a variant in a named format."""

from django.urls import URLPattern, URLResolver, path

from author_media import views_content, views_processing

urlpatterns: list[URLPattern | URLResolver] = [
    path("media/<str:media_id>/optimize", views_processing.OptimizeView.as_view(),
         name="am-optimize"),
    path("media/<str:media_id>/resize", views_processing.ResizeView.as_view(),
         name="am-resize"),
    path("media/<str:media_id>/crop", views_processing.CropView.as_view(), name="am-crop"),
    path("media/<str:media_id>/variants", views_processing.VariantsView.as_view(),
         name="am-variants"),
    path("media/<str:media_id>/operations/<str:operation_id>",
         views_processing.OperationView.as_view(), name="am-operation"),
    # /v1/media/files/<id>/<token>/<spec>.<format>: a variant in a format other than the
    # configured VARIANT_FORMAT (the plain /<spec> route, in urls.py, serves that one)
    path("media/files/<int:media_id>/<str:token>/<str:spec>.<str:format>",
         views_content.content, name="am-content-variant-format"),
]
