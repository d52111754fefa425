"""RSS and Atom feeds of the published articles, filtered like the list page.

Feed text is plain text in XML, with no element to isolate it in: its bidi embedding, override
and isolate controls (U+202A-U+202E, U+2066-U+2069) are removed, so a title holding U+202E cannot
show "gnp.exe" as "exe.png" in a feed reader. The pages isolate instead (templatetags/feedtext).
"""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponseBadRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import escape

from newsroom.security import absolute_url

from .filters import ArticleFilter
from .models import Article, Provider
from .pagination import first_rows, without_paging
from .templatetags.feedtext import without_bidi_controls
from .views import STORY_ITEMS, first_topics, shown_topics

FEED_SIZE = 50


class ArticleRssFeed(Feed):
    """The newest published articles that match the query string's filters."""

    feed_type = Rss201rev2Feed
    url_name = "curation:feed-rss"
    page_name = "curation:article-list"

    def __call__(self, request: HttpRequest, *args, **kwargs):
        filterset = self.get_object(request, *args, **kwargs)
        if not filterset.is_valid():
            problems = "; ".join(
                f"{name}: {' '.join(messages)}" for name, messages in filterset.form.errors.items()
            )
            return HttpResponseBadRequest(
                f"Invalid filter. {problems}", content_type="text/plain; charset=utf-8"
            )
        return super().__call__(request, *args, **kwargs)

    def get_object(self, request: HttpRequest, *args, **kwargs) -> ArticleFilter:
        # The feed instance is shared by every request, so the filters live on the request.
        if not hasattr(request, "_article_filter"):
            data = request.GET.copy()
            for name, value in self.section(**kwargs).items():
                data[name] = value
            request._article_filter = ArticleFilter(data, request=request)
            request._article_filter.section_kwargs = kwargs
        return request._article_filter

    def section(self, **kwargs) -> dict[str, str]:
        """The filter a section's feed fixes; none for the site's own feed."""
        return {}

    def _query(self, filterset: ArticleFilter) -> str:
        query = without_paging(filterset.request.GET)
        return f"?{query.urlencode()}" if query else ""

    def _reverse(self, filterset: ArticleFilter, name: str) -> str:
        return reverse(name, kwargs=filterset.section_kwargs)

    def title(self, filterset: ArticleFilter) -> str:
        described = without_bidi_controls(filterset.describe())
        return f"Newsroom: {described}" if described else f"Newsroom: {filterset.heading.lower()}"

    def description(self, filterset: ArticleFilter) -> str:
        return "Stories picked by the Newsroom editors."

    # Links come out absolute from newsroom.security.absolute_url (Feed leaves absolute URLs
    # alone), so the feed names the configured site, never the Host header's port.
    def link(self, filterset: ArticleFilter) -> str:
        return absolute_url(
            filterset.request, self._reverse(filterset, self.page_name) + self._query(filterset)
        )

    def feed_url(self, filterset: ArticleFilter) -> str:
        return absolute_url(
            filterset.request, self._reverse(filterset, self.url_name) + self._query(filterset)
        )

    def items(self, filterset: ArticleFilter):
        # The first page of the list's keyset reading (partial indexes, no OFFSET, no count);
        # each item's first STORY_ITEMS topics, as on the story page.
        rows = first_rows(
            filterset.qs,
            Article.objects.for_listing(),
            filterset,
            FEED_SIZE,
            (first_topics(STORY_ITEMS),),
        )
        for article in rows:  # item_link() is not given the request
            article.feed_link = absolute_url(filterset.request, article.get_absolute_url())
        return rows

    def item_title(self, article: Article) -> str:
        return without_bidi_controls(article.title)

    def item_description(self, article: Article) -> str:
        # Feed readers read the description as HTML: escape it so imported markup stays text.
        return escape(without_bidi_controls(article.excerpt))

    def item_link(self, article: Article) -> str:
        # Items link to (and are identified by) our own page, which links on to the outlet and
        # to the related coverage.
        return article.feed_link

    def item_pubdate(self, article: Article):
        return article.published_at

    def item_updateddate(self, article: Article):
        return article.updated_at

    def item_author_name(self, article: Article) -> str | None:
        return without_bidi_controls(str(article.provider)) if article.provider else None

    def item_categories(self, article: Article) -> list[str]:
        return [without_bidi_controls(topic.name) for topic in shown_topics(article)]


class ArticleAtomFeed(ArticleRssFeed):
    feed_type = Atom1Feed
    url_name = "curation:feed-atom"

    def subtitle(self, filterset: ArticleFilter) -> str:
        return self.description(filterset)


class TopicRssFeed(ArticleRssFeed):
    """A topic section's stories (``/topics/<name>/``), filtered like its page."""

    url_name = "curation:topic-rss"
    page_name = "curation:topic"

    def section(self, **kwargs) -> dict[str, str]:
        return {"topic": kwargs["name"]}


class TopicAtomFeed(TopicRssFeed):
    feed_type = Atom1Feed
    url_name = "curation:topic-atom"

    def subtitle(self, filterset: ArticleFilter) -> str:
        return self.description(filterset)


class ProviderRssFeed(ArticleRssFeed):
    """A provider section's stories (``/providers/<id>/``), filtered like its page."""

    url_name = "curation:provider-rss"
    page_name = "curation:provider"

    def section(self, **kwargs) -> dict[str, str]:
        return {"provider": str(kwargs["pk"])}

    def title(self, filterset: ArticleFilter) -> str:
        provider = Provider.objects.filter(pk=filterset.section_kwargs["pk"]).first()
        name = without_bidi_controls(str(provider)) if provider else "unknown provider"
        return f"Newsroom: stories from {name}"


class ProviderAtomFeed(ProviderRssFeed):
    feed_type = Atom1Feed
    url_name = "curation:provider-atom"

    def subtitle(self, filterset: ArticleFilter) -> str:
        return self.description(filterset)
