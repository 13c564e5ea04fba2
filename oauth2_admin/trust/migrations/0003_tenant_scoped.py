"""A trust is unique per tenant (issuer, subject, kid), and names the Hydra trust carrying it (grant_id), which
tenants trusting the same issuer key and subject share."""

from typing import Any

from django.db import migrations, models


def fill(apps: Any, schema_editor: Any) -> None:
    record = apps.get_model("console_trust", "TrustRecord")
    for row in record.objects.all().only("pk", "hydra_id", "public_jwk"):
        kid = str((row.public_jwk or {}).get("kid") or "")[:255]
        record.objects.filter(pk=row.pk).update(grant_id=row.hydra_id, kid=kid)


class Migration(migrations.Migration):
    dependencies = [
        ("console_trust", "0002_removed_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="trustrecord",
            name="grant_id",
            field=models.CharField(db_index=True, default="", max_length=100),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="trustrecord",
            name="kid",
            field=models.CharField(default="", max_length=255),
            preserve_default=False,
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="trustrecord",
            name="issuer",
            field=models.CharField(max_length=255),
        ),
        migrations.AlterField(
            model_name="trustrecord",
            name="subject",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddIndex(
            model_name="trustrecord",
            index=models.Index(fields=["issuer", "kid"], name="trust_issuer_key"),
        ),
        migrations.AddConstraint(
            model_name="trustrecord",
            constraint=models.UniqueConstraint(
                condition=models.Q(("removed_at", None)),
                fields=("tenant", "issuer", "subject", "kid"),
                name="trust_once_per_tenant",
            ),
        ),
        migrations.CreateModel(
            name="TrustKeyLock",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("issuer", models.CharField(max_length=255)),
                ("kid", models.CharField(max_length=255)),
                ("changed_at", models.DateTimeField(null=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("issuer", "kid"), name="trust_key_lock_once")
                ],
            },
        ),
    ]
