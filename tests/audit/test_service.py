from __future__ import annotations

import logging

import pytest
from django.core.management import CommandError, call_command

from truss import audit
from truss.audit import Action
from truss.models import AuditEvent
from truss.redaction import REDACTED, RedactingFilter, redact

pytestmark = pytest.mark.django_db


def _three_events(tenant):
    for i in range(3):
        audit.record(
            None, Action.CLIENT_UPDATE, tenant=tenant, target=f"t{i}", after={"n": i}, actor="system"
        )


class TestRecord:
    def test_it_chains_each_event_to_the_previous_one(self, tenant):
        _three_events(tenant)
        first, second, third = AuditEvent.objects.order_by("id")
        assert first.prev_hash == audit.GENESIS
        assert second.prev_hash == first.hash
        assert third.prev_hash == second.hash
        assert len({first.hash, second.hash, third.hash}) == 3

    def test_it_redacts_secrets_in_before_and_after(self, tenant):
        event = audit.record(
            None,
            "oauth2.client.create",
            tenant=tenant,
            after={
                "client_id": "abc",
                "client_secret": "s3cret",
                "jwks": {"keys": [{"kid": "k1", "d": "private"}]},
                "token_endpoint_auth_method": "client_secret_basic",
            },
        )
        event.refresh_from_db()
        assert event.after["client_secret"] == REDACTED
        assert event.after["jwks"]["keys"][0] == {"kid": "k1", "d": REDACTED}
        assert event.after["token_endpoint_auth_method"] == "client_secret_basic"
        assert "s3cret" not in str(event.after) and "private" not in str(event.after)

    def test_it_redacts_secrets_in_the_detail_text(self, tenant):
        event = audit.record(
            None, Action.CLIENT_UPDATE, tenant=tenant, detail="failed with client_secret=hunter2&x=1"
        )
        assert "hunter2" not in event.detail


class TestVerifyAudit:
    def test_it_reports_an_intact_chain(self, tenant, capsys):
        _three_events(tenant)
        call_command("verify_audit")
        assert "3 events verified" in capsys.readouterr().out

    def test_it_catches_an_edited_row(self, tenant):
        _three_events(tenant)
        second = AuditEvent.objects.order_by("id")[1]
        AuditEvent.objects.filter(pk=second.pk).update(after={"n": 999})
        with pytest.raises(CommandError, match=f"broken at event #{second.pk}.*edited"):
            call_command("verify_audit")

    def test_it_catches_a_deleted_row(self, tenant):
        _three_events(tenant)
        first, second, third = AuditEvent.objects.order_by("id")
        second.delete()
        with pytest.raises(CommandError, match=f"broken at event #{third.pk}.*removed"):
            call_command("verify_audit")

    def test_it_catches_removed_newest_rows(self, tenant):
        _three_events(tenant)
        AuditEvent.objects.order_by("-id").first().delete()
        with pytest.raises(CommandError, match="newest rows were removed"):
            call_command("verify_audit")

    def test_it_catches_a_rehashed_row_that_breaks_the_next_link(self, tenant):
        _three_events(tenant)
        first = AuditEvent.objects.order_by("id").first()
        first.after = {"n": 42}
        first.hash = audit.compute_hash(first)  # a careful forger recomputes this row's hash…
        first.save()
        with pytest.raises(
            CommandError, match="broken at event"
        ):  # …but the next row still points at the old one
            call_command("verify_audit")


class TestLogRedaction:
    @pytest.mark.parametrize(
        ("message", "secret"),
        [
            ("key truss_sk_AbCdEfGh1234567890abcdefghijklmnopqrstuvwxyzABCDEF used", "1234567890abcdef"),
            ("token ory_at_abc.def-ghi introspected", "abc.def-ghi"),
            ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi"),
            ("body client_secret=hunter2&grant_type=x", "hunter2"),
            ('{"password": "pa55word"}', "pa55word"),
        ],
    )
    def test_it_scrubs_secrets_from_log_lines(self, message, secret):
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "%s", (message,), None)
        RedactingFilter().filter(record)
        assert secret not in record.getMessage()

    def test_it_keeps_the_api_key_prefix_for_tracing(self):
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "truss_sk_AbCdEfGh" + "x" * 40, (), None)
        RedactingFilter().filter(record)
        assert record.getMessage().startswith("truss_sk_AbCdEfGh")

    def test_it_redacts_nested_lists(self):
        assert redact([{"refresh_token": "r"}, {"ok": 1}]) == [{"refresh_token": REDACTED}, {"ok": 1}]


def test_it_writes_the_event_of_input_carrying_nul_characters(tenant):
    # PostgreSQL's text and jsonb refuse NUL: a refused request echoing one must still leave its event.
    with pytest.raises(ValueError), audit.mutation(None, Action.TRUST_CREATE, tenant, target="iss\x00uer"):
        raise ValueError("issuer: 'a\x00b' is not a URL")
    audit.record(None, Action.CLIENT_UPDATE, tenant=tenant, before={"k\x00": ["v\x00"]}, after="\x00")
    failed, updated = AuditEvent.objects.order_by("id")
    assert (failed.outcome, failed.target, failed.detail) == (
        "failure",
        "iss\ufffduer",
        "issuer: 'a\ufffdb' is not a URL",
    )
    assert (updated.before, updated.after) == ({"k\ufffd": ["v\ufffd"]}, "\ufffd")
    assert audit.verify_chain().ok
