from django.urls import path

from . import views

app_name = "curation"

urlpatterns = [
    path("", views.ArticleListView.as_view(), name="article-list"),
    path("articles/<str:key>/", views.ArticleDetailView.as_view(), name="article-detail"),
]
