# ClaimsConfig now belongs to truss (truss 0002): drop it from the bridge's state only; the table stays.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("bridge", "0001_initial"),
        ("truss", "0002_claimsconfig"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="ClaimsConfig")]),
    ]
