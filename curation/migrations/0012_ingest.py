"""Continuous ingest (issue 14): sources, watched files, pushed deliveries, run records,
failures and tombstones of deleted articles. The job queue's own tables come from
procrastinate's migrations, on PostgreSQL only (curation/ingest.py, QueueRouter)."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

# Ingest health is for editors (docs/ingest.md): they see sources, runs, failures, pushes and
# tombstones, and may retry a failed file; sources, tokens and restores are superusers' work.
EDITOR_PERMISSIONS = [
    "view_source",
    "view_ingestrun",
    "view_ingestfailure",
    "change_ingestfailure",
    "view_delivery",
    "view_tombstone",
]


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


class Migration(migrations.Migration):
    dependencies = [
        ("curation", "0011_front_page"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Delivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='The file name the sender gave.', max_length=255)),
                ('digest', models.CharField(help_text='SHA-256 of the bytes.', max_length=64)),
                ('content', models.BinaryField(help_text='The bytes as pushed, kept so a failure can be retried.')),
                ('received_at', models.DateTimeField(auto_now_add=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('state', models.CharField(choices=[('queued', 'queued'), ('done', 'done'), ('failed', 'failed')], default='queued', max_length=10)),
                ('outcome', models.CharField(blank=True, help_text='created, updated, unchanged, skipped or failed, once imported.', max_length=10)),
                ('result', models.JSONField(blank=True, default=dict, help_text="The import's report lines.")),
            ],
            options={
                'verbose_name_plural': 'deliveries',
                'ordering': ['-received_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='Source',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='A short name editors recognise (the sender).', max_length=100, unique=True)),
                ('kind', models.CharField(choices=[('folder', 'watched folder'), ('push', 'HTTP push')], help_text='A folder the workers watch, or a sender that pushes files to /api/ingest/.', max_length=10)),
                ('path', models.CharField(blank=True, help_text="Watched folders only: the folder's absolute path on the workers' machines.", max_length=1024)),
                ('token_hash', models.CharField(blank=True, db_index=True, editable=False, help_text='SHA-256 of the push token; the token itself is shown once, when made.', max_length=64)),
                ('token_hint', models.CharField(blank=True, editable=False, help_text="The token's first characters, to tell tokens apart.", max_length=12)),
                ('enabled', models.BooleanField(default=True, help_text='Untick to stop taking files from this source (pushes get 401).')),
                ('max_pushes_per_minute', models.PositiveIntegerField(default=600, help_text='Push sources only: more pushes than this in a minute are answered 429.', validators=[django.core.validators.MinValueValidator(1)])),
                ('idle_alert_after', models.DurationField(blank=True, help_text='Warn in the admin when nothing arrived from this source for this long (e.g. 02:00:00 for two hours). Empty: never warn.', null=True)),
                ('last_arrival_at', models.DateTimeField(blank=True, editable=False, help_text='When a file last arrived.', null=True)),
                ('last_success_at', models.DateTimeField(blank=True, editable=False, help_text='When a file last imported.', null=True)),
                ('last_error_at', models.DateTimeField(blank=True, editable=False, help_text='When a file last failed.', null=True)),
                ('last_error', models.TextField(blank=True, editable=False, help_text='Why the last failed file failed.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['name'],
                'constraints': [models.CheckConstraint(condition=models.Q(('kind', 'push'), models.Q(('path', ''), _negated=True), _connector='OR'), name='source_folder_has_path')],
            },
        ),
        migrations.CreateModel(
            name='IngestRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('trigger', models.CharField(choices=[('command', 'import_seeds command'), ('folder', 'watched folder'), ('push', 'HTTP push'), ('retry', 'retry from the admin'), ('restore', 'restored from a tombstone')], max_length=10)),
                ('started_at', models.DateTimeField(db_index=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('created', models.PositiveIntegerField(default=0)),
                ('updated', models.PositiveIntegerField(default=0)),
                ('unchanged', models.PositiveIntegerField(default=0)),
                ('conflicts', models.PositiveIntegerField(default=0)),
                ('skipped', models.PositiveIntegerField(default=0, help_text='Files whose article an editor deleted: not brought back.')),
                ('failed', models.PositiveIntegerField(default=0)),
                ('job_id', models.BigIntegerField(blank=True, editable=False, null=True, unique=True)),
                ('source', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='runs', to='curation.source')),
            ],
            options={
                'ordering': ['-started_at', '-id'],
                'get_latest_by': 'started_at',
            },
        ),
        migrations.CreateModel(
            name='IngestFailure',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('path', models.CharField(help_text='The file (or pushed name) that failed.', max_length=1024)),
                ('key', models.CharField(blank=True, db_index=True, max_length=150)),
                ('reason', models.TextField(help_text='What is wrong, in one line: file:line: key: problem.')),
                ('failed_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('resolved_at', models.DateTimeField(blank=True, help_text='When the file later imported, so this is settled.', null=True)),
                ('delivery', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='failures', to='curation.delivery')),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='failures', to='curation.ingestrun')),
                ('source', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='failures', to='curation.source')),
            ],
            options={
                'ordering': ['-failed_at', '-id'],
            },
        ),
        migrations.AddField(
            model_name='delivery',
            name='source',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='curation.source'),
        ),
        migrations.CreateModel(
            name='SourceFile',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('path', models.CharField(help_text="The file's path inside the folder.", max_length=1024)),
                ('size', models.BigIntegerField()),
                ('mtime_ns', models.BigIntegerField()),
                ('inode', models.BigIntegerField()),
                ('state', models.CharField(choices=[('queued', 'queued'), ('imported', 'imported'), ('failed', 'failed'), ('skipped', 'skipped (deleted by an editor)')], default='queued', max_length=10)),
                ('error', models.TextField(blank=True, help_text='Why the file failed, if it did.')),
                ('seen_at', models.DateTimeField(help_text='When this version of the file was first seen.')),
                ('source', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='files', to='curation.source')),
            ],
            options={
                'ordering': ['source', 'path'],
            },
        ),
        migrations.CreateModel(
            name='Tombstone',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=150, unique=True)),
                ('title', models.TextField(blank=True, help_text="The deleted article's title.")),
                ('source_name', models.CharField(blank=True, max_length=255)),
                ('source_text', models.TextField(blank=True, help_text='The seed file the article was last imported from, kept verbatim.')),
                ('deleted_by_name', models.CharField(blank=True, help_text='Who deleted it, as they were called then.', max_length=150)),
                ('deleted_at', models.DateTimeField(db_index=True)),
                ('deleted_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-deleted_at', '-id'],
            },
        ),
        migrations.AddConstraint(
            model_name='delivery',
            constraint=models.UniqueConstraint(fields=('source', 'name', 'digest'), name='unique_delivery_bytes'),
        ),
        migrations.AddConstraint(
            model_name='sourcefile',
            constraint=models.UniqueConstraint(fields=('source', 'path'), name='unique_source_file'),
        ),
        migrations.RunPython(grant_editors, revoke_editors),
    ]
