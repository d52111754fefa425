"""The sitemap: every published article's page, with when it last changed."""

from django.contrib.sitemaps import Sitemap

from newsroom.security import site_host, site_scheme

from .models import Article


class ArticleSitemap(Sitemap):
    changefreq = "daily"
    limit = 50_000  # the protocol's maximum; beyond it the view serves ?p=2 and so on

    def items(self):
        return (
            Article.objects.published().only("key", "updated_at").order_by("-published_at", "-id")
        )

    def lastmod(self, article: Article):
        return article.updated_at

    # The sitemap view passes the request's scheme and Host; newsroom.security decides what
    # absolute URLs really use (NEWSROOM_SITE_URL, never the Host header's port).
    def get_protocol(self, protocol: str | None = None) -> str:
        return site_scheme(super().get_protocol(protocol))

    def get_domain(self, site=None) -> str:
        return site_host(super().get_domain(site))


SITEMAPS = {"articles": ArticleSitemap}
