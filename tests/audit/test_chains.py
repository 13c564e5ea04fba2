"""Per-tenant audit chains, signed checkpoints (the anchor outside the table) and appends that outlast lock
waits (issue 9, items 1 and 5)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.db.migrations.executor import MigrationExecutor

from truss import audit
from truss.audit import Action, chain
from truss.models import AuditChainHead, AuditEvent
from truss.redaction import RedactingFilter

pytestmark = pytest.mark.django_db


def _events(tenant: Any, n: int = 3, action: str = Action.CLIENT_UPDATE) -> list[AuditEvent]:
    return [audit.record(None, action, tenant=tenant, target=f"t{i}", after={"n": i}) for i in range(n)]


def _checkpoint_file(tmp_path: Path, *points: dict[str, Any]) -> str:
    path = tmp_path / "checkpoints.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in points))
    return str(path)


class TestChains:
    def test_it_keeps_one_chain_per_tenant_and_one_without(self, tenant, other_tenant):
        a1, b1, n1, a2 = (
            audit.record(None, Action.CLIENT_UPDATE, tenant=tenant),
            audit.record(None, Action.CLIENT_UPDATE, tenant=other_tenant),
            audit.record(None, Action.CLIENT_UPDATE, tenant=None),
            audit.record(None, Action.CLIENT_UPDATE, tenant=tenant),
        )
        assert a1.chain == f"tenant:{tenant.pk}" and b1.chain == f"tenant:{other_tenant.pk}"
        assert n1.chain == audit.GLOBAL_CHAIN
        assert a1.prev_hash == b1.prev_hash == n1.prev_hash == audit.GENESIS  # each chain starts afresh
        assert a2.prev_hash == a1.hash
        heads = dict(AuditChainHead.objects.values_list("chain", "last_hash"))
        assert heads == {a1.chain: a2.hash, b1.chain: b1.hash, audit.GLOBAL_CHAIN: n1.hash}

    def test_it_keeps_created_at_in_id_order_within_a_tenant(self, tenant):
        events = _events(tenant, 5)
        stamps = [e.created_at for e in AuditEvent.objects.filter(tenant=tenant).order_by("id")]
        assert stamps == sorted(stamps) and len(events) == 5

    def test_it_verifies_every_chain_and_names_the_broken_one(self, tenant, other_tenant, capsys):
        _events(tenant)
        victim = _events(other_tenant)[1]
        call_command("verify_audit")
        assert "6 events verified in 2 chain(s)" in capsys.readouterr().out
        AuditEvent.objects.filter(pk=victim.pk).update(after={"n": 99})
        with pytest.raises(CommandError, match=rf"tenant:{other_tenant.pk}.*#{victim.pk}.*edited"):
            call_command("verify_audit")

    def test_it_binds_a_row_to_its_chain(self, tenant, other_tenant):
        _events(tenant, 1)
        moved = _events(other_tenant, 1)[0]
        AuditEvent.objects.filter(pk=moved.pk).update(chain=f"tenant:{tenant.pk}")
        with pytest.raises(CommandError, match="broken"):
            call_command("verify_audit")


class TestCheckpoints:
    def test_it_detects_newest_rows_removed_with_their_head_only_against_a_checkpoint(self, tenant, tmp_path):
        _events(tenant, 5)
        point = audit.checkpoint()
        newest = AuditEvent.objects.order_by("-id")[:2]
        AuditEvent.objects.filter(pk__in=[e.pk for e in newest]).delete()
        remaining = AuditEvent.objects.order_by("-id").first()
        AuditChainHead.objects.filter(chain=f"tenant:{tenant.pk}").update(last_hash=remaining.hash)

        call_command("verify_audit")  # the table alone cannot tell (documented in README)
        with pytest.raises(CommandError, match=r"signed checkpoint is missing: rows were removed"):
            call_command("verify_audit", checkpoint=_checkpoint_file(tmp_path, point))

    def test_it_detects_every_row_and_head_removed(self, tenant, other_tenant, tmp_path):
        _events(tenant)
        _events(other_tenant)
        point = audit.checkpoint()
        AuditEvent.objects.all().delete()
        AuditChainHead.objects.all().delete()
        call_command("verify_audit")  # an empty table is a valid table…
        with pytest.raises(CommandError, match="missing: rows were removed"):  # …but not after a checkpoint
            call_command("verify_audit", checkpoint=_checkpoint_file(tmp_path, point))

    def test_it_detects_a_rewritten_chain_from_genesis(self, tenant, tmp_path):
        _events(tenant, 3)
        point = audit.checkpoint()
        AuditEvent.objects.all().delete()
        AuditChainHead.objects.all().delete()
        _events(tenant, 3, action=Action.CLIENT_DELETE)  # a consistent new chain of the same length
        call_command("verify_audit")
        with pytest.raises(CommandError, match="rows were removed|differs from the signed checkpoint"):
            call_command("verify_audit", checkpoint=_checkpoint_file(tmp_path, point))

    def test_it_rejects_a_forged_checkpoint(self, tenant, tmp_path):
        _events(tenant, 3)
        point = audit.checkpoint()
        chain = next(iter(point["chains"]))
        forged = {**point, "chains": {chain: {**point["chains"][chain], "last_id": 1}}}
        with pytest.raises(CommandError, match="Checkpoint rejected: .*signature does not match"):
            call_command("verify_audit", checkpoint=_checkpoint_file(tmp_path, forged))

    def test_it_rejects_a_checkpoint_signed_with_another_key(self, tenant, tmp_path, settings):
        _events(tenant, 2)
        settings.AUDIT_CHECKPOINT_KEY = "someone-elses-key"
        foreign = audit.checkpoint()
        settings.AUDIT_CHECKPOINT_KEY = ""
        with pytest.raises(CommandError, match="signature does not match"):
            call_command("verify_audit", checkpoint=_checkpoint_file(tmp_path, foreign))

    def test_it_accepts_an_intact_log_against_the_latest_checkpoints(
        self, tenant, other_tenant, tmp_path, capsys
    ):
        _events(tenant, 2)
        early = audit.checkpoint()
        _events(tenant, 2)
        _events(other_tenant, 2)
        late = audit.checkpoint()
        _events(tenant, 1)  # rows after the latest checkpoint are fine (and not protected by it)
        call_command("verify_audit", checkpoint=_checkpoint_file(tmp_path, early, late))
        assert "7 events verified in 2 chain(s), against 2 signed checkpoint(s)" in capsys.readouterr().out

    def test_the_command_prints_appends_and_logs_a_verifiable_line(self, tenant, tmp_path, capsys, caplog):
        _events(tenant, 2)
        out = tmp_path / "anchors.jsonl"
        with caplog.at_level(logging.INFO, logger="truss.audit"):
            call_command("audit_checkpoint", append=str(out))
        printed = json.loads(capsys.readouterr().out)
        assert json.loads(out.read_text()) == printed
        assert printed["chains"][f"tenant:{tenant.pk}"]["last_id"] == AuditEvent.objects.order_by("-id")[0].pk
        audit.check_signature(printed)
        # The log line, as the redacting filter leaves it, still verifies.
        record = next(r for r in caplog.records if audit.CHECKPOINT_KIND in r.getMessage())
        RedactingFilter().filter(record)
        logged = tmp_path / "app.log"
        logged.write_text(f"2026-01-01 12:00:00 INFO truss.audit {record.getMessage()}\n")
        call_command("verify_audit", checkpoint=str(logged))

    def test_it_logs_a_checkpoint_every_n_events(self, tenant, settings, caplog):
        settings.AUDIT_CHECKPOINT_EVERY = 2
        with caplog.at_level(logging.INFO, logger="truss.audit"):
            events = _events(tenant, 6)
        logged = [
            json.loads(r.getMessage()) for r in caplog.records if audit.CHECKPOINT_KIND in r.getMessage()
        ]
        expected = [e.pk for e in events if e.pk % 2 == 0]
        assert [p["chains"][f"tenant:{tenant.pk}"]["last_id"] for p in logged] == expected


@pytest.mark.django_db(transaction=True)  # as in production: no request-wide transaction around the append
class TestAppendUnderContention:
    def test_it_retries_a_locked_database_and_writes_exactly_one_event(self, tenant, monkeypatch):
        real, calls = chain._append, []

        def flaky(event):
            calls.append(1)
            if len(calls) <= 2:
                raise OperationalError("database is locked")
            return real(event)

        monkeypatch.setattr(chain, "_append", flaky)
        monkeypatch.setattr(chain, "_RETRY_DELAYS", (0.001,) * 8)
        with audit.mutation(None, "oauth2.client.update", tenant, "c1") as event:
            event.success(after={"client_name": "new"})
        assert len(calls) == 3
        assert list(AuditEvent.objects.values_list("action", "outcome")) == [
            ("oauth2.client.update", "success")
        ]

    def test_a_success_upstream_is_never_reported_as_a_failure(self, tenant, monkeypatch, caplog):
        def locked(event):
            raise OperationalError("database is locked")

        monkeypatch.setattr(chain, "_append", locked)
        monkeypatch.setattr(chain, "_RETRY_DELAYS", (0.001,) * 3)
        with (
            caplog.at_level(logging.CRITICAL, logger="truss.audit"),
            audit.mutation(None, "oauth2.client.rotate_secret", tenant, "c1") as event,
        ):
            event.success(after={"client_secret": "s3cret-value"})  # must not raise: Hydra has changed
        critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
        assert len(critical) == 1 and "NOT WRITTEN" in critical[0].getMessage()
        assert "oauth2.client.rotate_secret" in critical[0].getMessage()
        assert "s3cret-value" not in critical[0].getMessage()


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_existing_rows_verifiable_as_the_legacy_chain(tenant):
    executor = MigrationExecutor(connection)
    executor.migrate([("truss", "0003_claimsconfig_table")])
    old = MigrationExecutor(connection).loader.project_state([("truss", "0003_claimsconfig_table")]).apps
    Event, Head = old.get_model("truss", "AuditEvent"), old.get_model("truss", "AuditChainHead")
    prev = audit.GENESIS
    for i in range(3):  # rows exactly as the old single-chain code wrote them
        row = Event(
            tenant_id=tenant.pk if i != 1 else None,
            created_at=None,
            actor="system",
            action="old.action",
            target=f"o{i}",
            outcome="success",
            request_id="",
            ip=None,
            before=None,
            after={"n": i},
            detail="",
            prev_hash=prev,
        )
        probe = AuditEvent(**{f.attname: getattr(row, f.attname) for f in Event._meta.concrete_fields})
        probe.chain = audit.LEGACY_CHAIN
        probe.created_at = row.created_at = dt.datetime(2025, 1, 1, 0, 0, i, tzinfo=dt.UTC)
        row.hash = prev = audit.compute_hash(probe)
        row.save()
    Head.objects.create(pk=1, last_hash=prev)

    MigrationExecutor(connection).migrate([("truss", "0004_audit_chains")])
    legacy = list(AuditEvent.objects.order_by("id").values_list("chain", flat=True))
    assert legacy == [audit.LEGACY_CHAIN] * 3
    assert AuditChainHead.objects.get(pk=1).chain == audit.LEGACY_CHAIN
    # Today's append also writes tables of later migrations (the daily rollup): append on the complete schema.
    latest = MigrationExecutor(connection)
    latest.migrate(latest.loader.graph.leaf_nodes())
    new = audit.record(None, Action.CLIENT_CREATE, tenant=tenant)
    assert new.chain == f"tenant:{tenant.pk}" and new.prev_hash == audit.GENESIS
    report = audit.verify_chain()
    assert report.ok and report.checked == 4 and report.chains == 2
    AuditEvent.objects.filter(action="old.action", target="o1").update(after={"n": 7})
    assert audit.verify_chain().chain == audit.LEGACY_CHAIN
