"""Articles a large import wrote and has not placed in stories yet: the marker that lets a killed
run's articles be placed by the next one. And ``PublicState.changed_at`` also moves when stories
are regrouped (its help text)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("curation", "0014_story_key_covering_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="UnplacedArticle",
            fields=[
                (
                    "article",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="curation.article",
                    ),
                ),
            ],
        ),
        migrations.AlterField(
            model_name="publicstate",
            name="changed_at",
            field=models.DateTimeField(
                help_text="When a story last left or changed on the public site without an "
                "article's updated_at showing it (unpublished, deleted, regrouped)."
            ),
        ),
    ]
