from django.urls import path

from apps.storage import views

urlpatterns = [
    path("<str:token>/<str:filename>", views.serve, name="storage-serve"),
]
