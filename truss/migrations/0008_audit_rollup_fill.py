"""Fill the audit log's daily rollup from the events chained before it existed (what `manage.py audit_rollup
--rebuild` does, with the models as of this migration). A process of the previous release still appending while
this runs leaves its events out: run `manage.py audit_rollup --rebuild` once every process runs this release."""

from typing import Any

from django.db import migrations
from django.db.models import Count
from django.db.models.functions import TruncDate

BATCH = 1000


def fill(apps: Any, schema_editor: Any) -> None:
    from datetime import UTC

    event_model = apps.get_model("truss", "AuditEvent")
    count_model = apps.get_model("truss", "AuditDailyCount")
    alias = schema_editor.connection.alias
    rows = (
        event_model.objects.using(alias)
        .filter(tenant__isnull=False)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values_list("tenant_id", "day", "action", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    count_model.objects.using(alias).all().delete()
    batch = []
    for tenant_id, day, action, outcome, n in rows.iterator(chunk_size=BATCH):
        batch.append(count_model(tenant_id=tenant_id, day=day, action=action, outcome=outcome, events=n))
        if len(batch) >= BATCH:
            count_model.objects.using(alias).bulk_create(batch)
            batch = []
    count_model.objects.using(alias).bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("truss", "0007_scale"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
