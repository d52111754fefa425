"""The "Editors" role: may see articles, providers, topics and history, and curate articles.

Which article fields an editor may change (published, quality, heat) is enforced by the admin;
the group grants the model permissions it needs and nothing more (no add, no delete).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Editors"
PERMISSIONS = [
    "view_article",
    "change_article",
    "view_provider",
    "view_topic",
    "view_articlechange",
]


def create_editors_group(apps, schema_editor):
    # Permissions are normally created after all migrations ran (post_migrate); create the
    # curation ones now so the group can be given them on a fresh database too.
    # create_permissions() skips app configs without a models module, as the migration state's
    # are; pretend for the duration of the call.
    app_config = apps.get_app_config("curation")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True
    try:
        create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    finally:
        app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    group, _ = Group.objects.using(db).get_or_create(name=GROUP_NAME)
    permissions = Permission.objects.using(db).filter(
        content_type__app_label="curation", codename__in=PERMISSIONS
    )
    found = {permission.codename for permission in permissions}
    missing = sorted(set(PERMISSIONS) - found)
    if missing:
        raise RuntimeError(f"Permissions missing for the Editors group: {', '.join(missing)}")
    group.permissions.add(*permissions)


def remove_editors_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("curation", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_editors_group, remove_editors_group)]
