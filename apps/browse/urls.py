"""URLs of the media browser, mounted at ``browse/`` by config/urls.py."""

from django.urls import path

from apps.browse import views

app_name = "browse"

urlpatterns = [
    path("", views.BrowsePageView.as_view(), name="page"),
    path("login/", views.BrowseLoginView.as_view(), name="login"),
    path("logout/", views.BrowseLogoutView.as_view(), name="logout"),
]
