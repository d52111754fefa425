from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("curation", "0011_front_page")]

    operations = []
