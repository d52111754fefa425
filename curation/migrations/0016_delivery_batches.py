"""Pushed files imported in batches (issue 14): a delivery keeps its article key and its job's
queue lock and id, so a push's job can take other queued deliveries of the same lock into its
batch (and drop their jobs), keeping the deliveries of one key in order; and it links to the
run that imported it."""

import os
import zlib

import django.db.models.deletion
from django.db import migrations, models

MAX_KEY_LENGTH = 150


def fill_keys_and_locks(apps, schema_editor):
    # Written out rather than imported (seedfile.key_of, ingest.key_lock): these are the key
    # and the lock the existing rows' jobs were queued with, whatever the code says later.
    Delivery = apps.get_model("curation", "Delivery")
    rows = []
    for delivery in Delivery.objects.only("id", "name").iterator(chunk_size=2000):
        key = os.path.splitext(os.path.basename(delivery.name))[0][:MAX_KEY_LENGTH]
        delivery.key = key
        delivery.queue_lock = f"ingest-keys-{zlib.crc32(key.encode('utf-8')) % 32}"
        rows.append(delivery)
        if len(rows) == 1000:
            Delivery.objects.bulk_update(rows, ["key", "queue_lock"])
            rows = []
    Delivery.objects.bulk_update(rows, ["key", "queue_lock"])


class Migration(migrations.Migration):
    dependencies = [
        ("curation", "0015_unplaced_article"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="key",
            field=models.CharField(
                blank=True, help_text="The article key the file name gives.", max_length=150
            ),
        ),
        migrations.AddField(
            model_name="delivery",
            name="queue_lock",
            field=models.CharField(blank=True, editable=False, max_length=40),
        ),
        migrations.AddField(
            model_name="delivery",
            name="queue_job_id",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="delivery",
            name="run",
            field=models.ForeignKey(
                blank=True,
                help_text="The run that imported it: one run may import a batch of pushed files.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="deliveries",
                to="curation.ingestrun",
            ),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("state", "queued")),
                fields=["source", "queue_lock", "id"],
                name="delivery_queued_by_lock",
            ),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("state", "queued")),
                fields=["key", "id"],
                name="delivery_queued_by_key",
            ),
        ),
        # Dropping the columns undoes it all: nothing to do going back.
        migrations.RunPython(fill_keys_and_locks, migrations.RunPython.noop),
    ]
