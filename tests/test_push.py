"""POST /api/ingest/: senders push seed files with their source's token."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from curation.models import Article, Delivery, IngestRun, Source, hash_token

pytestmark = pytest.mark.django_db

SEED = b"---\ntitle: Pushed story\ntopics: [Transport]\npublished: true\n---\nBody\n"
PUSH = "/api/ingest/"


@pytest.fixture(autouse=True)
def fresh_rate_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def sender():
    source = Source(name="Wire", kind=Source.Kind.PUSH)
    token = source.new_token()
    source.save()
    return source, token


def push(client, token, name="pushed.txt", data=SEED, **headers):
    return client.post(
        PUSH,
        data=data,
        content_type="application/octet-stream",
        headers={"Authorization": f"Bearer {token}", "X-Seed-Name": name, **headers},
    )


def job(client, token, url):
    return client.get(url, headers={"Authorization": f"Bearer {token}"})


def test_a_push_answers_202_with_a_job_whose_url_tells_its_result(client, sender, run_ingest_jobs):
    source, token = sender
    response = push(client, token)
    assert response.status_code == 202
    body = response.json()
    assert body["job"] and body["key"] == "pushed" and body["duplicate"] is False
    assert body["url"].endswith(reverse("curation:ingest-job", args=[body["job"]]))
    run_ingest_jobs()
    state = job(client, token, body["url"]).json()
    assert state["state"] == "done" and state["outcome"] == "created"
    assert state["result"]["errors"] == []
    article = Article.objects.get(key="pushed")
    assert article.title == "Pushed story" and article.source_name == "pushed.txt"
    run = IngestRun.objects.get()
    assert run.trigger == IngestRun.Trigger.PUSH and run.source == source and run.created == 1


def test_the_same_bytes_pushed_twice_are_one_import(client, sender, run_ingest_jobs):
    _, token = sender
    first = push(client, token).json()
    second = push(client, token).json()
    run_ingest_jobs()
    third = push(client, token).json()
    run_ingest_jobs()
    assert first["job"] == second["job"] == third["job"]
    assert second["duplicate"] and third["duplicate"]
    assert Delivery.objects.count() == 1 and IngestRun.objects.count() == 1
    assert Article.objects.get(key="pushed").version == 1


def test_changed_bytes_under_the_same_name_update_the_article(client, sender, run_ingest_jobs):
    _, token = sender
    push(client, token)
    run_ingest_jobs()
    changed = push(client, token, data=SEED.replace(b"Pushed story", b"Pushed, corrected"))
    run_ingest_jobs()
    assert job(client, token, changed.json()["url"]).json()["outcome"] == "updated"
    assert Article.objects.get(key="pushed").title == "Pushed, corrected"


def test_the_token_is_stored_only_as_its_hash(sender):
    source, token = sender
    source.refresh_from_db()
    assert source.token_hash == hash_token(token) and token not in source.token_hash
    assert not source.token_hint or token.startswith(source.token_hint)


@pytest.mark.parametrize(
    "authorization", ["", "Bearer", "Bearer nr_wrong", "Basic dXNlcjpwYXNz", "Token {token}"]
)
def test_a_missing_or_wrong_token_is_401(client, sender, authorization):
    _, token = sender
    response = client.post(
        PUSH,
        data=SEED,
        content_type="application/octet-stream",
        headers={"Authorization": authorization.format(token=token), "X-Seed-Name": "a.txt"},
    )
    assert response.status_code == 401 and "Bearer" in response.json()["error"]
    assert not Delivery.objects.exists()


def test_a_disabled_source_is_401(client, sender):
    source, token = sender
    Source.objects.filter(pk=source.pk).update(enabled=False)
    assert push(client, token).status_code == 401


def test_a_folder_sources_token_hash_does_not_open_the_push_endpoint(client):
    folder = Source(name="Folder", kind=Source.Kind.FOLDER, path="/tmp")
    token = folder.new_token()
    folder.save()
    assert push(client, token).status_code == 401


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "X-Seed-Name is missing"),
        ("../escape.txt", "bare file name"),
        ("story.yaml", "ending in .txt or .md"),
        (".hidden.txt", "starts with a dot"),
    ],
)
def test_a_bad_name_is_400_naming_the_problem(client, sender, name, problem):
    _, token = sender
    response = push(client, token, name=name)
    assert response.status_code == 400 and problem in response.json()["error"]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"---\ntitle: [unclosed\n---\n", "bad.txt:3: invalid YAML front matter"),
        (b"", "bad.txt: the file is empty"),
        (b"\xff\xfe", "bad.txt:1: the file is not UTF-8 text"),
        (b"---\ntitle: T\nquality: 5000\n---\n", "bad.txt:3: quality"),
    ],
)
def test_not_a_seed_is_400_with_the_codecs_own_words(client, sender, data, problem):
    _, token = sender
    response = push(client, token, name="bad.txt", data=data)
    assert response.status_code == 400
    assert response.json()["error"].startswith(problem)
    assert not Delivery.objects.exists()


def test_a_file_over_the_limit_is_413(client, sender, settings):
    _, token = sender
    settings.NEWSROOM_SEED_MAX_BYTES = len(SEED) - 1
    response = push(client, token)
    assert response.status_code == 413 and "limit" in response.json()["error"]


def test_pushes_over_the_sources_rate_are_429(client, sender):
    source, token = sender
    Source.objects.filter(pk=source.pk).update(max_pushes_per_minute=2)
    codes = [push(client, token, name=f"s{n}.txt").status_code for n in range(3)]
    assert codes == [202, 202, 429]
    assert "pushes this minute" in push(client, token).json()["error"]


def test_a_job_of_another_source_is_404(client, sender):
    _, token = sender
    url = push(client, token).json()["url"]
    other = Source(name="Other", kind=Source.Kind.PUSH)
    other_token = other.new_token()
    other.save()
    assert job(client, other_token, url).status_code == 404
    assert job(client, "nr_wrong", url).status_code == 401


def test_a_push_of_a_deleted_article_is_skipped_and_says_who_deleted_it(
    client, sender, run_ingest_jobs
):
    _, token = sender
    push(client, token)
    run_ingest_jobs()
    Article.objects.get(key="pushed").delete()
    again = push(client, token, data=SEED + b"More\n").json()
    run_ingest_jobs()
    state = job(client, token, again["url"]).json()
    assert state["outcome"] == "skipped"
    assert "deleted by someone outside the admin on" in state["result"]["skipped"][0]
    assert not Article.objects.filter(key="pushed").exists()


def test_get_on_the_push_endpoint_is_405(client):
    assert client.get(PUSH).status_code == 405


def test_a_correction_pushed_while_the_first_version_waits_lands_after_it(
    client, sender, run_ingest_jobs
):
    _, token = sender
    first = push(client, token).json()
    second = push(client, token, data=SEED.replace(b"Pushed story", b"Pushed, corrected")).json()
    run_ingest_jobs()
    assert job(client, token, first["url"]).json()["outcome"] == "created"
    assert job(client, token, second["url"]).json()["outcome"] == "updated"
    article = Article.objects.get(key="pushed")
    assert (article.title, article.version) == ("Pushed, corrected", 2)
