from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("truss", "0002_claimsconfig"),
        ("bridge", "0002_move_claimsconfig"),
    ]

    operations = [
        migrations.AlterModelTable(name="claimsconfig", table=None),
    ]
