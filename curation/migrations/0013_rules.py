"""Rules (``Rule``), the values they gave articles (``RuledValue``, the re-import's merge base),
which rule made a change in the history, and the Editors' permission to manage rules."""

import django.core.validators
import django.db.models.deletion
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

# Editors decide published, quality and heat; rules decide them for many articles at once, so
# the same role manages them (docs/rules.md).
EDITOR_PERMISSIONS = ["view_rule", "add_rule", "change_rule", "delete_rule"]


def grant_editors(apps, schema_editor):
    app_config = apps.get_app_config("curation")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True  # see 0002_editors_group
    try:
        create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    finally:
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    group = Group.objects.using(db).filter(name="Editors").first()
    if group is not None:
        group.permissions.add(
            *Permission.objects.using(db).filter(
                content_type__app_label="curation", codename__in=EDITOR_PERMISSIONS
            )
        )


def revoke_editors(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    group = Group.objects.using(db).filter(name="Editors").first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.using(db).filter(
                content_type__app_label="curation", codename__in=EDITOR_PERMISSIONS
            )
        )


def _score(name, lowest, highest):
    message = (
        f"{name.capitalize()} runs from {lowest} to {highest}; %(value)s is outside that range."
    )
    return [
        django.core.validators.MinValueValidator(lowest, message=message),
        django.core.validators.MaxValueValidator(highest, message=message),
    ]


LINES = "One per line; any line may match. Leave empty to match every article."


class Migration(migrations.Migration):
    dependencies = [("curation", "0012_ingest")]

    operations = [
        migrations.AddField(
            model_name="articlechange",
            name="rule_name",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.CreateModel(
            name="Rule",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "name",
                    models.CharField(
                        help_text="What the rule is for, as the history will show it.",
                        max_length=100,
                        unique=True,
                    ),
                ),
                (
                    "enabled",
                    models.BooleanField(
                        default=True, help_text="Untick to stop applying the rule to what arrives."
                    ),
                ),
                (
                    "position",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Rules run from the lowest position up; a later rule's value wins.",
                    ),
                ),
                (
                    "providers",
                    models.TextField(
                        blank=True,
                        help_text="The outlet's name or web domain, exactly (capitals don't "
                        f"matter). {LINES}",
                    ),
                ),
                (
                    "topics",
                    models.TextField(
                        blank=True,
                        help_text=f"A topic the article has, exactly (capitals don't matter). {LINES}",
                    ),
                ),
                (
                    "categories",
                    models.TextField(
                        blank=True,
                        help_text=f"The feed's category, exactly (capitals don't matter). {LINES}",
                    ),
                ),
                (
                    "types",
                    models.TextField(
                        blank=True,
                        help_text="The feed's type (article, video…), exactly (capitals don't "
                        f"matter). {LINES}",
                    ),
                ),
                (
                    "words",
                    models.TextField(
                        blank=True,
                        help_text="A word or phrase in the title or the excerpt, as whole words "
                        "(“rail” does not match “trailer”; capitals don't matter). "
                        f"{LINES}",
                    ),
                ),
                (
                    "set_published",
                    models.BooleanField(
                        blank=True,
                        help_text="Publish or unpublish what matches; empty leaves it as the feed "
                        "says.",
                        null=True,
                    ),
                ),
                (
                    "set_quality",
                    models.IntegerField(
                        blank=True,
                        help_text="The quality to give what matches (0 to 1000); empty leaves it "
                        "as the feed says.",
                        null=True,
                        validators=_score("quality", 0, 1000),
                    ),
                ),
                (
                    "set_heat",
                    models.IntegerField(
                        blank=True,
                        help_text="The heat to give what matches (-1 to 1000); empty leaves it as "
                        "the feed says.",
                        null=True,
                        validators=_score("heat", -1, 1000),
                    ),
                ),
                (
                    "mark_for_review",
                    models.BooleanField(
                        default=False,
                        help_text="Put what matches in the editors' queue, even if someone "
                        "reviewed it before.",
                    ),
                ),
                (
                    "stop_here",
                    models.BooleanField(
                        default=False,
                        help_text="When this rule matches, the rules after it are not tried.",
                    ),
                ),
            ],
            options={
                "ordering": ["position", "id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("set_quality__isnull", True),
                            models.Q(("set_quality__gte", 0), ("set_quality__lte", 1000)),
                            _connector="OR",
                        ),
                        name="rule_set_quality_range",
                        violation_error_message="Quality runs from 0 to 1000.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("set_heat__isnull", True),
                            models.Q(("set_heat__gte", -1), ("set_heat__lte", 1000)),
                            _connector="OR",
                        ),
                        name="rule_set_heat_range",
                        violation_error_message="Heat runs from -1 to 1000.",
                    ),
                ],
            },
        ),
        migrations.AddField(
            model_name="articlechange",
            name="rule",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="changes",
                to="curation.rule",
            ),
        ),
        migrations.CreateModel(
            name="RuledValue",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "field",
                    models.CharField(
                        choices=[
                            ("published", "published"),
                            ("quality", "quality"),
                            ("heat", "heat"),
                        ],
                        max_length=20,
                    ),
                ),
                ("value", models.JSONField(blank=True, null=True)),
                (
                    "article",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="ruled_values",
                        to="curation.article",
                    ),
                ),
                (
                    "rule",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to="curation.rule",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("article", "field"), name="unique_ruled_value_field"
                    )
                ],
            },
        ),
        migrations.RunPython(grant_editors, revoke_editors),
    ]
