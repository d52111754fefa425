from django.contrib.sitemaps.views import sitemap
from django.urls import path, register_converter

from . import api, feeds, seedfile, views
from .filters import storable
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


class TopicNameConverter:
    """A topic's name in its section's address: anything but a slash, and nothing no query may
    carry (a NUL, an unpaired surrogate), which is a 404 before any query runs."""

    regex = "[^/]{1,100}"

    def to_python(self, value: str) -> str:
        if not storable(value):
            raise ValueError(value)
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TopicNameConverter, "topic_name")

app_name = "curation"

urlpatterns = [
    path(
        "",
        views.clean_query(views.public_condition(views.ArticleListView.as_view())),
        name="article-list",
    ),
    # Sections: a page per topic and per provider, each with its own feeds.
    path(
        "topics/<topic_name:name>/",
        views.clean_query(views.public_condition(views.TopicListView.as_view())),
        name="topic",
    ),
    path(
        "topics/<topic_name:name>/rss/",
        views.public_condition(feeds.TopicRssFeed()),
        name="topic-rss",
    ),
    path(
        "topics/<topic_name:name>/atom/",
        views.public_condition(feeds.TopicAtomFeed()),
        name="topic-atom",
    ),
    path(
        "providers/<int:pk>/",
        views.clean_query(views.public_condition(views.ProviderListView.as_view())),
        name="provider",
    ),
    path(
        "providers/<int:pk>/rss/",
        views.public_condition(feeds.ProviderRssFeed()),
        name="provider-rss",
    ),
    path(
        "providers/<int:pk>/atom/",
        views.public_condition(feeds.ProviderAtomFeed()),
        name="provider-atom",
    ),
    path(
        "articles/<article_key:key>/",
        views.public_condition(views.ArticleDetailView.as_view()),
        name="article-detail",
    ),
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
    # Continuous ingest (docs/ingest.md): senders push seed files and ask after their jobs.
    path("api/ingest/", api.push, name="ingest-push"),
    path("api/ingest/jobs/<int:pk>/", api.job, name="ingest-job"),
]
