import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("curation", "0009_history_sources"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="StoryDecision",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "decided_at",
                    models.DateTimeField(auto_now=True, help_text="When it was last made."),
                ),
            ],
            options={
                "verbose_name": "story decision",
            },
        ),
        migrations.CreateModel(
            name="StoryKey",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.BigIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name="StoryPin",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
            ],
            options={
                "verbose_name": "story pin",
            },
        ),
        migrations.AddField(
            model_name="article",
            name="story_rank",
            field=models.PositiveIntegerField(
                blank=True,
                editable=False,
                help_text="Its place in its story: 0 is the lead, the copy readers see first.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="article",
            name="story_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("url", "same URL"),
                    ("related", "related link"),
                    ("headline", "similar headline"),
                    ("editor", "editor's decision"),
                ],
                editable=False,
                help_text="Why it belongs to its story.",
                max_length=10,
            ),
        ),
        migrations.CreateModel(
            name="Story",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "size",
                    models.PositiveIntegerField(
                        default=0, help_text="How many articles report it."
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "lead",
                    models.ForeignKey(
                        blank=True,
                        help_text="The copy readers see first (its rank is 0).",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="curation.article",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "stories",
                "ordering": ["-updated_at", "-id"],
            },
        ),
        migrations.AddField(
            model_name="article",
            name="story",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                editable=False,
                help_text="The story this article is one report of; empty while no other covers it.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="articles",
                to="curation.story",
            ),
        ),
        migrations.AddIndex(
            model_name="article",
            index=models.Index(
                condition=models.Q(("story__isnull", False)),
                fields=["story", "story_rank"],
                name="article_story",
            ),
        ),
        migrations.AddField(
            model_name="storydecision",
            name="decided_by",
            field=models.ForeignKey(
                blank=True,
                help_text="Who made the decision last.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="storydecision",
            name="lead",
            field=models.ForeignKey(
                blank=True,
                help_text="The copy an editor chose to lead the story; empty: the best by quality, heat.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="curation.article",
            ),
        ),
        migrations.AddField(
            model_name="story",
            name="decision",
            field=models.OneToOneField(
                blank=True,
                help_text="The editors' decision this story follows, if any.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="story",
                to="curation.storydecision",
            ),
        ),
        migrations.AddField(
            model_name="storykey",
            name="article",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="curation.article",
            ),
        ),
        migrations.AddField(
            model_name="storypin",
            name="article",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="story_pin",
                to="curation.article",
            ),
        ),
        migrations.AddField(
            model_name="storypin",
            name="decision",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="pins",
                to="curation.storydecision",
            ),
        ),
        migrations.AddIndex(
            model_name="storykey",
            index=models.Index(fields=["key"], name="storykey_key"),
        ),
        migrations.AddIndex(
            model_name="storykey",
            index=models.Index(fields=["article"], name="storykey_article"),
        ),
    ]
