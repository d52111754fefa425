from django.contrib.sitemaps.views import sitemap
from django.urls import path, register_converter

from . import feeds, seedfile, views
from .sitemaps import SITEMAPS


class ArticleKeyConverter:
    """Only what ``seedfile.validate_key`` accepts is an article key: anything else (a NUL,
    which PostgreSQL refuses in a query, a control character, an over-long key) matches no URL
    and is a 404 before any query runs."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        try:
            return seedfile.validate_key(value)
        except seedfile.SeedError:
            raise ValueError(value) from None

    def to_url(self, value: str) -> str:
        return value


register_converter(ArticleKeyConverter, "article_key")

app_name = "curation"

urlpatterns = [
    path("", views.public_condition(views.ArticleListView.as_view()), name="article-list"),
    path("articles/<article_key:key>/", views.ArticleDetailView.as_view(), name="article-detail"),
    # Staff only (the admin's rule); for anyone else the same 404 as an unpublished story.
    path(
        "preview/articles/<article_key:key>/",
        views.ArticlePreviewView.as_view(),
        name="article-preview",
    ),
    path(
        "api/articles/",
        views.public_condition(views.ArticleJsonView.as_view()),
        name="api-articles",
    ),
    path("feed/rss/", views.public_condition(feeds.ArticleRssFeed()), name="feed-rss"),
    path("feed/atom/", views.public_condition(feeds.ArticleAtomFeed()), name="feed-atom"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
]
