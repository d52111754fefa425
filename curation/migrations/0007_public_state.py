"""The public site's own clock: ``PublicState.changed_at`` moves when a story leaves the site.

Last-Modified and the facet and count caches combine it with the articles' ``updated_at``, so an
unpublish or a deletion moves them forward (issue 11, point 19). The one row is created here.
"""

from django.db import migrations, models
from django.utils import timezone


def create_row(apps, schema_editor) -> None:
    apps.get_model("curation", "PublicState").objects.using(schema_editor.connection.alias).create(
        pk=1, changed_at=timezone.now()
    )


class Migration(migrations.Migration):
    dependencies = [("curation", "0006_score_ranges")]

    operations = [
        migrations.CreateModel(
            name="PublicState",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "changed_at",
                    models.DateTimeField(
                        help_text="When a story last left the public site (unpublished or deleted)."
                    ),
                ),
            ],
            options={"verbose_name": "public state"},
        ),
        migrations.AddConstraint(
            model_name="publicstate",
            constraint=models.CheckConstraint(
                condition=models.Q(("id", 1)), name="public_state_one_row"
            ),
        ),
        migrations.RunPython(create_row, migrations.RunPython.noop),
    ]
