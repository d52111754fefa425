"""The public pages' small helpers: relative times and section addresses."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def ago(moment: datetime.datetime | None, now: datetime.datetime | None = None) -> str:
    """ "3 hours ago" (the largest unit only); a moment still ahead (a feed's wrong date) or
    under a minute old reads "just now". The exact time goes in the ``<time>`` element."""
    if moment is None:
        return ""
    now = now or timezone.now()
    if now - moment < datetime.timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, now, depth=1)} ago"


@register.filter
def topic_url(name: str) -> str:
    """The topic's section page; the list filtered by it for a name no address can hold."""
    try:
        return reverse("curation:topic", kwargs={"name": name})
    except NoReverseMatch:
        return reverse("curation:article-list") + "?" + urlencode({"topic": name})


@register.filter
def provider_url(provider_id: int) -> str:
    return reverse("curation:provider", kwargs={"pk": provider_id})
