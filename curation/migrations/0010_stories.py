from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("curation", "0009_history_sources")]

    operations = []
