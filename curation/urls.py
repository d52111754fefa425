from django.contrib.sitemaps.views import sitemap
from django.urls import path

from . import feeds, views
from .sitemaps import SITEMAPS

app_name = "curation"

urlpatterns = [
    path("", views.public_condition(views.ArticleListView.as_view()), name="article-list"),
    path("articles/<str:key>/", views.ArticleDetailView.as_view(), name="article-detail"),
    path(
        "api/articles/",
        views.public_condition(views.ArticleJsonView.as_view()),
        name="api-articles",
    ),
    path("feed/rss/", views.public_condition(feeds.ArticleRssFeed()), name="feed-rss"),
    path("feed/atom/", views.public_condition(feeds.ArticleAtomFeed()), name="feed-atom"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
]
