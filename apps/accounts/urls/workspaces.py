from django.urls import path

from apps.accounts import views

urlpatterns = [
    path("", views.WorkspaceListCreateView.as_view(), name="workspaces"),
    path("<str:workspace_id>/", views.WorkspaceDetailView.as_view(), name="workspace"),
    path("<str:workspace_id>/members/", views.WorkspaceMembersView.as_view(),
         name="workspace-members"),
    path("<str:workspace_id>/members/<uuid:user_id>/", views.WorkspaceMemberDetailView.as_view(),
         name="workspace-member"),
]
