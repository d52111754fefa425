"""Rules on what arrives (new and changed files), the merge that never takes a rule's value for
an editor's, the history, and preview / apply on stored articles."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from curation import editorial, exporter, importer, rules
from curation.importer import import_seeds
from curation.models import Article, ArticleChange, PublicState, Rule, RuledValue

pytestmark = pytest.mark.django_db

# "RIVERSIDE" in fullwidth letters, which NFKC reads as ASCII.
FULLWIDTH_RIVERSIDE = "".join(chr(ord(letter) + 0xFEE0) for letter in "RIVERSIDE")


def write_seed(folder, key, **fields):
    """A seed file with the feed's shape; strings as JSON, which YAML reads the same."""
    values = {
        "title": "Rail strike called off",
        "excerpt": "Talks succeed.",
        "category": "news",
        "type": "article",
        "quality": 88,
        "heat": 15,
        "published": True,
        **fields,
    }
    lines = ["---"]
    for name, value in values.items():
        lines.append(f"{name}: {json.dumps(value)}")
    lines += [
        "provider:",
        "  name: Riverside Courier",
        "  domain: riversidecourier.example",
        "topics:",
        "  - Transport",
        "---",
        "",
    ]
    path = folder / f"{key}.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def make_rule(name="Wire strikes", **fields) -> Rule:
    rule = Rule(name=name, **fields)
    rule.full_clean()
    rule.save()
    return rule


def rule_rows(article: Article):
    return list(article.changes.filter(via=ArticleChange.Via.RULE).order_by("id"))


def test_a_new_file_gets_the_rules_values_recorded_as_the_rules(tmp_path):
    rule = make_rule(words="strike", set_quality=10, set_published=False)
    write_seed(tmp_path, "a")
    report = import_seeds([tmp_path])
    assert report.created == ["a"] and not report.failed
    article = Article.objects.get(key="a")
    assert (article.quality, article.published, article.heat) == (10, False, 15)
    rows = rule_rows(article)
    assert {(row.field, row.old_value, row.new_value) for row in rows} == {
        ("quality", 88, 10),
        ("published", True, False),
    }
    assert all(row.user is None and row.rule == rule for row in rows)
    assert {row.rule_name for row in rows} == {"Wire strikes"}
    # The file is version 1, the rule's values version 2: the export writes what the site shows.
    assert (article.seed_version, article.version) == (1, 2)
    text = exporter.article_text(Article.objects.with_document().get(key="a"))
    assert "quality: 10" in text and "published: false" in text and "heat: 15" in text
    assert dict(RuledValue.objects.values_list("field", "value")) == {
        "quality": 10,
        "published": False,
    }


def test_a_rule_that_agrees_with_the_file_changes_nothing(tmp_path):
    make_rule(words="strike", set_quality=88)
    write_seed(tmp_path, "a")
    import_seeds([tmp_path])
    article = Article.objects.get(key="a")
    assert (article.version, article.seed_version) == (1, 1)
    assert not article.changes.exists() and not RuledValue.objects.exists()


def test_reimport_of_the_same_file_is_unchanged_and_no_conflict(tmp_path):
    make_rule(words="strike", set_quality=10)
    write_seed(tmp_path, "a")
    import_seeds([tmp_path])
    report = import_seeds([tmp_path])
    assert report.unchanged == ["a"] and not report.conflicts and not report.kept


def test_a_changed_file_is_ruled_and_the_rules_value_is_never_an_editors(tmp_path):
    make_rule(words="strike", set_quality=10)
    write_seed(tmp_path, "a")
    import_seeds([tmp_path])
    write_seed(tmp_path, "a", title="Rail strike called off again", quality=90)
    report = import_seeds([tmp_path])
    assert report.updated == ["a"] and not report.conflicts and not report.kept
    article = Article.objects.get(key="a")
    assert article.quality == 10 and article.title.endswith("again")
    assert article.version == article.seed_version + 1
    import_rows = article.changes.filter(via=ArticleChange.Via.IMPORT)
    assert [row.field for row in import_rows] == ["title"]


def test_an_editors_other_change_leaves_the_rules_field_to_the_rules(tmp_path):
    make_rule(words="strike", set_quality=10)
    write_seed(tmp_path, "a")
    import_seeds([tmp_path])
    article = Article.objects.get(key="a")
    editorial.apply_editorial_changes(article, {"heat": 70}, user=None, via="form")
    write_seed(tmp_path, "a", title="Rail strike is back", quality=95)
    report = import_seeds([tmp_path])
    assert not report.conflicts
    assert report.kept == {"a": ["heat"]}  # the editor's heat, not the rule's quality
    article.refresh_from_db()
    assert (article.quality, article.heat, article.title) == (10, 70, "Rail strike is back")


def test_an_editors_later_change_wins_over_the_file_and_the_rule(tmp_path):
    make_rule(words="strike", set_quality=10)
    write_seed(tmp_path, "a")
    import_seeds([tmp_path])
    article = Article.objects.get(key="a")
    editorial.apply_editorial_changes(article, {"quality": 70}, user=None, via="form")
    for title in ("Rail strike is back", "Rail strike is back again"):
        write_seed(tmp_path, "a", title=title, quality=95)
        report = import_seeds([tmp_path])
        assert report.kept == {"a": ["quality"]}
        article.refresh_from_db()
        assert article.quality == 70 and article.title == title
    # Only the creation's row: the rule never wrote over the editor.
    assert article.changes.filter(field="quality", via=ArticleChange.Via.RULE).count() == 1


def test_a_rule_added_later_rules_the_next_change_and_a_disabled_rule_gives_the_file_back(
    tmp_path,
):
    write_seed(tmp_path, "a")
    import_seeds([tmp_path])
    rule = make_rule(words="strike", set_heat=0)
    write_seed(tmp_path, "a", title="Rail strike again")
    import_seeds([tmp_path])
    article = Article.objects.get(key="a")
    assert article.heat == 0
    assert [(r.field, r.old_value, r.new_value) for r in rule_rows(article)] == [("heat", 15, 0)]
    rule.enabled = False
    rule.save()
    write_seed(tmp_path, "a", title="Rail strike once more")
    report = import_seeds([tmp_path])
    assert not report.conflicts and not report.kept
    article.refresh_from_db()
    assert article.heat == 15 and article.version == article.seed_version
    assert article.changes.filter(field="heat", via=ArticleChange.Via.IMPORT).get().new_value == 15
    assert not RuledValue.objects.exists()


def test_mark_for_review_puts_a_changed_article_back_into_the_queue(tmp_path):
    write_seed(tmp_path, "a")
    import_seeds([tmp_path])
    article = Article.objects.get(key="a")
    editorial.apply_editorial_changes(article, {"reviewed": True}, user=None, via="action")
    make_rule(words="strike", mark_for_review=True)
    import_seeds([tmp_path])  # the same bytes: nothing to look at again
    assert Article.objects.reviewed().filter(key="a").exists()
    write_seed(tmp_path, "a", title="Rail strike back on")
    import_seeds([tmp_path])
    assert Article.objects.awaiting_review().filter(key="a").exists()
    row = article.changes.get(field="reviewed", via=ArticleChange.Via.RULE)
    assert (row.old_value, row.new_value) == (True, False)


def test_a_rule_unpublishing_on_reimport_moves_the_public_validators(tmp_path):
    write_seed(tmp_path, "a")
    import_seeds([tmp_path])
    PublicState.touch()
    before = PublicState.objects.get().changed_at
    make_rule(words="strike", set_published=False)
    write_seed(tmp_path, "a", title="Rail strike again")
    import_seeds([tmp_path])
    assert not Article.objects.get(key="a").published
    assert PublicState.objects.get().changed_at > before


def test_order_and_stop_here_on_import(tmp_path):
    make_rule("first", position=1, words="strike", set_quality=20, stop_here=True)
    make_rule("second", position=2, words="rail", set_quality=30, set_heat=99)
    make_rule("zeroth", position=0, providers="Riverside Courier", set_heat=1)
    write_seed(tmp_path, "a")
    import_seeds([tmp_path])
    article = Article.objects.get(key="a")
    assert (article.quality, article.heat) == (20, 1)
    assert {row.rule_name for row in rule_rows(article)} == {"first", "zeroth"}


def test_dry_run_with_rules_leaves_nothing(tmp_path):
    make_rule(words="strike", set_quality=10)
    write_seed(tmp_path, "a")
    import_seeds([tmp_path], dry_run=True)
    assert not Article.objects.exists() and not ArticleChange.objects.exists()
    assert not RuledValue.objects.exists()


# -- preview and apply on stored articles ----------------------------------------------------


def many(tmp_path, count, **fields):
    for number in range(count):
        write_seed(tmp_path, f"k{number:03}", **fields)
    import_seeds([tmp_path], workers=1)


def test_preview_counts_exactly_lists_a_bounded_few_and_changes_nothing(tmp_path):
    many(tmp_path, 60)
    write_seed(tmp_path, "other", title="Bus timetable")
    write_seed(tmp_path, "same", quality=10)
    import_seeds([tmp_path])
    rule = make_rule(words="strike", set_quality=10)
    versions = dict(Article.objects.values_list("key", "version"))
    plan = rules.preview(rule)
    assert (plan.matched, plan.changing, plan.kept) == (61, 60, 0)
    assert len(plan.shown) == rules.PREVIEW_LIMIT == 50
    assert plan.shown[0].changes == {"quality": (88, 10)}
    assert dict(Article.objects.values_list("key", "version")) == versions
    assert not ArticleChange.objects.exists()


def test_apply_to_existing_counts_records_and_leaves_editors_values(tmp_path):
    many(tmp_path, 5)
    edited = Article.objects.get(key="k000")
    editorial.apply_editorial_changes(edited, {"quality": 70}, user=None, via="form")
    reviewed_before = set(Article.objects.reviewed().values_list("key", flat=True))
    rule = make_rule(words="strike", set_quality=10)
    outcome = rules.apply_to_existing(rule)
    assert (outcome.matched, outcome.changed, outcome.kept) == (5, 4, 1)
    assert dict(Article.objects.values_list("key", "quality")) == {
        "k000": 70,
        **{f"k00{n}": 10 for n in range(1, 5)},
    }
    rows = ArticleChange.objects.filter(via=ArticleChange.Via.RULE)
    assert rows.count() == 4 and {row.rule_id for row in rows} == {rule.pk}
    # A rule decides nothing for an editor: the queue stays as it was.
    assert set(Article.objects.reviewed().values_list("key", flat=True)) == reviewed_before
    assert RuledValue.objects.count() == 4
    # Applied again: nothing left to change.
    assert rules.apply_to_existing(rule).changed == 0
    # The applied value is the import's from now on: a changed file keeps it, no conflict...
    write_seed(tmp_path, "k001", title="Rail strike over", quality=91)
    report = import_seeds([tmp_path / "k001.txt"])
    assert not report.conflicts and not report.kept
    assert Article.objects.get(key="k001").quality == 10
    # ...and with the rule disabled, the file's own value comes back, still no conflict.
    Rule.objects.update(enabled=False)
    write_seed(tmp_path, "k002", title="Rail strike over")
    report = import_seeds([tmp_path / "k002.txt"])
    assert not report.conflicts and not report.kept
    assert Article.objects.get(key="k002").quality == 88


def test_apply_marks_for_review_and_moves_the_public_validators(tmp_path):
    many(tmp_path, 3)
    editorial.apply_editorial_changes(
        Article.objects.all(), {"reviewed": True}, user=None, via="action"
    )
    PublicState.touch()
    before = PublicState.objects.get().changed_at
    rule = make_rule(words="strike", set_published=False, mark_for_review=True)
    outcome = rules.apply_to_existing(rule)
    assert (outcome.changed, outcome.queued) == (3, 3)
    assert Article.objects.awaiting_review().count() == 3
    assert not Article.objects.published().exists()
    assert PublicState.objects.get().changed_at > before
    assert set(ArticleChange.objects.filter(via="rule").values_list("field", "rule_name")) == {
        ("published", rule.name),
        ("reviewed", rule.name),
    }


def test_apply_leaves_an_article_made_in_the_admin_to_its_editors():
    Article.objects.create(key="local", title="Rail strike notes", quality=5, version=2)
    rule = make_rule(words="strike", set_quality=10)
    assert rules.preview(rule).kept == 1
    outcome = rules.apply_to_existing(rule)
    assert (outcome.matched, outcome.changed, outcome.kept) == (1, 0, 1)


def test_preview_and_apply_narrow_by_provider_topic_category_and_type_like_import(tmp_path):
    write_seed(tmp_path, "a", category="NEWS", type="video")
    write_seed(tmp_path, "b", category="sport")
    import_seeds([tmp_path])
    rule = make_rule(
        providers=f"{FULLWIDTH_RIVERSIDE} courier",
        topics="transport",
        categories="news",
        set_heat=3,
    )
    plan = rules.preview(rule)
    assert [item.key for item in plan.shown] == ["a"]
    rule.types = "article"
    rule.save()
    assert rules.preview(rule).matched == 0


def test_out_of_range_values_are_refused_naming_the_field():
    with pytest.raises(ValidationError) as refused:
        make_rule(set_quality=1001, set_heat=-2)
    assert "Quality runs from 0 to 1000" in str(refused.value.message_dict["set_quality"])
    assert "Heat runs from -1 to 1000" in str(refused.value.message_dict["set_heat"])
    with pytest.raises(ValidationError, match="must do something"):
        make_rule(words="x")


def test_the_version_check_still_guards_an_edited_article(tmp_path):
    make_rule(words="strike", set_quality=10)
    write_seed(tmp_path, "a")
    import_seeds([tmp_path])
    article = Article.objects.get(key="a")
    Article.objects.filter(pk=article.pk).update(version=F("version") + 1)
    with pytest.raises(editorial.StaleVersion):
        editorial.apply_editorial_changes(
            article, {"heat": 1}, user=None, via="form", expected_version=article.version
        )


def test_a_pushed_file_is_ruled_like_a_file_on_disk(tmp_path):
    make_rule(words="strike", set_heat=0)
    path = write_seed(tmp_path, "pushed")
    report = importer.import_documents([("pushed.txt", path.read_bytes())])
    assert report.created == ["pushed"]
    article = Article.objects.get(key="pushed")
    assert article.heat == 0 and rule_rows(article)[0].new_value == 0


def test_rules_add_no_query_per_file(tmp_path):
    for number in range(20):
        make_rule(f"rule {number}", words="strike", set_quality=number, mark_for_review=True)

    def queries(name, count, *, ruled, **fields):
        """Queries of importing ``count`` files into folder ``name`` (new, then changed)."""
        Rule.objects.update(enabled=ruled)
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        for number in range(count):
            write_seed(folder, f"{name}{number}", **fields)
        with CaptureQueriesContext(connection) as captured:
            import_seeds([folder], workers=1)
        return len(captured)

    def added_by_rules(count, **fields):
        return queries(f"on{count}", count, ruled=True, **fields) - queries(
            f"off{count}", count, ruled=False, **fields
        )

    assert added_by_rules(3) == added_by_rules(30)  # new files
    # Changed files, merged against what the rules said: per batch too, not per file.
    assert added_by_rules(3, excerpt="Day two.") == added_by_rules(30, excerpt="Day two.")


def test_preview_reads_in_chunks_not_per_article(tmp_path):
    many(tmp_path, 12)
    rule = make_rule(providers="Riverside Courier", topics="Transport", set_quality=10)
    with CaptureQueriesContext(connection) as few:
        rules.preview(rule, articles=Article.objects.filter(key__lt="k003"))
    with CaptureQueriesContext(connection) as all_of_them:
        assert rules.preview(rule).changing == 12
    assert len(few) == len(all_of_them)


def test_apply_judges_editors_values_as_the_merge_does(tmp_path):
    many(tmp_path, 3)
    changed, restored, _ = Article.objects.order_by("key")
    editorial.apply_editorial_changes(changed, {"heat": 70}, user=None, via="form")
    # Changed and changed back: the value is the file's again, as a re-import would see it.
    editorial.apply_editorial_changes(restored, {"heat": 70}, user=None, via="form")
    editorial.apply_editorial_changes(restored, {"heat": 15}, user=None, via="revert")
    rule = make_rule(words="strike", set_heat=0)
    plan = rules.preview(rule)
    assert {item.key: item.changes for item in plan.shown} == {
        "k001": {"heat": (15, 0)},
        "k002": {"heat": (15, 0)},
    }
    assert (plan.changing, plan.kept) == (2, 1)  # k000 keeps its editor's 70
    rules.apply_to_existing(rule)
    assert dict(Article.objects.values_list("key", "heat")) == {"k000": 70, "k001": 0, "k002": 0}
