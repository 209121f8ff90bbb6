from django.urls import path

from apps.accounts import views

urlpatterns = [
    path("register/", views.RegisterView.as_view(), name="auth-register"),
    path("token/", views.TokenObtainView.as_view(), name="auth-token"),
    path("token/refresh/", views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("me/", views.MeView.as_view(), name="auth-me"),
    path("api-keys/", views.ApiKeyListCreateView.as_view(), name="auth-api-keys"),
    path("api-keys/<uuid:key_id>/", views.ApiKeyDetailView.as_view(), name="auth-api-key"),
]
