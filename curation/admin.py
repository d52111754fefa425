from django.contrib import admin

from .models import Article, Provider, Topic


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "provider", "published_at", "published", "quality", "heat"]
    list_editable = ["published", "quality", "heat"]
    search_fields = ["title"]


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    search_fields = ["name", "domain"]


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    search_fields = ["name"]
