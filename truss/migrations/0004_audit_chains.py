"""One audit chain per tenant (plus "global" for events without one) instead of one for everything.

Rows written before this migration, and the single head row, become the "legacy" chain: their hashes were
computed without a chain name and stay valid, and verify_audit keeps checking them. New rows go per chain.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("truss", "0003_claimsconfig_table"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="chain",
            field=models.CharField(default="legacy", max_length=40),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="chain",
            field=models.CharField(default="legacy", max_length=40, unique=True),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["chain", "id"], name="audit_chain_id"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["tenant", "created_at"], name="audit_tenant_created"),
        ),
    ]
