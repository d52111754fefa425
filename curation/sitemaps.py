"""The sitemap: every published article's page, with when it last changed."""

from django.contrib.sitemaps import Sitemap

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


SITEMAPS = {"articles": ArticleSitemap}
