from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("curation", "0012_ingest")]

    operations = []
