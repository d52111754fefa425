"""The push endpoint: senders POST seed files, one per request, and ask after their jobs.

``POST /api/ingest/`` with ``Authorization: Bearer <token>`` (the source's token), the file's
name in ``X-Seed-Name`` and its bytes as the body answers ``202`` with the job's id and URL;
``GET`` on that URL tells its state and result. Errors are JSON ``{"error": "..."}``: 401 bad
token, 400 bad name or not a seed (the codec's own message), 413 too big, 429 too many.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import ingest, seedfile, tasks
from .models import Delivery, Source, hash_token


def _error(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="newsroom ingest"'
    return response


def _source(request: HttpRequest) -> Source | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return Source.objects.filter(
        kind=Source.Kind.PUSH, enabled=True, token_hash=hash_token(token.strip())
    ).first()


def _over_rate(source: Source) -> bool:
    """Count this push in the source's current minute (atomic ``add``/``incr``, shared by all
    web processes when the cache is Redis); true when it is over the source's limit."""
    key = f"ingest-push:{source.pk}:{int(time.time() // 60)}"
    if cache.add(key, 1, timeout=120):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=120)
            count = 1
    return count > source.max_pushes_per_minute


def _job(request: HttpRequest, delivery: Delivery) -> dict:
    url = request.build_absolute_uri(reverse("curation:ingest-job", args=[delivery.pk]))
    return {
        "job": delivery.pk,
        "url": url,
        "name": delivery.name,
        "key": seedfile.key_of(delivery.name),
        "state": delivery.state,
        "outcome": delivery.outcome or None,
        "received_at": delivery.received_at.isoformat(),
        "finished_at": delivery.finished_at.isoformat() if delivery.finished_at else None,
        "result": delivery.result or None,
    }


@csrf_exempt  # a bearer token, not a cookie, authenticates: nothing for CSRF to forge
@require_POST
def push(request: HttpRequest) -> JsonResponse:
    source = _source(request)
    if source is None:
        return _error(401, "a valid Authorization: Bearer <token> of an enabled push source")
    limit = settings.NEWSROOM_SEED_MAX_BYTES
    name = request.headers.get("X-Seed-Name", "").strip()
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return _error(400, "Content-Length is not a number")
    if length > limit:
        return _error(413, f"{name or 'the file'}: {length:,} bytes, over the {limit:,}-byte limit")
    if _over_rate(source):
        return _error(
            429, f"more than {source.max_pushes_per_minute} pushes this minute; try again soon"
        )
    data = request.read(limit + 1)
    try:
        ingest.check_push(name, data)
    except ingest.PushRefused as refused:
        return _error(refused.status, refused.message)
    delivery, new = tasks.push(source, name, data)
    response = JsonResponse({**_job(request, delivery), "duplicate": not new}, status=202)
    response["Location"] = reverse("curation:ingest-job", args=[delivery.pk])
    return response


@require_GET
def job(request: HttpRequest, pk: int) -> JsonResponse:
    source = _source(request)
    if source is None:
        return _error(401, "a valid Authorization: Bearer <token> of an enabled push source")
    delivery = Delivery.objects.filter(pk=pk, source=source).first()
    if delivery is None:  # another source's job is none of this sender's business
        return _error(404, f"no job {pk} for this source")
    return JsonResponse(_job(request, delivery))
