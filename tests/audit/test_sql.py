"""The drain's written-out statements (truss/audit/chain.py) against the ORM's versions: the same rows in, the
same rows read, and the same rows stored."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.fixtures.sql import stored, undone
from truss import audit
from truss.audit import Action, chain, outbox
from truss.models import AuditChainHead, AuditEvent, AuditOutbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(tenant, other_tenant):
    for i, who in enumerate((tenant, other_tenant, None, tenant, other_tenant)):
        audit.record(
            None,
            Action.LOGIN_ACCEPT,
            tenant=who,
            target=f"app-{i}",
            actor="identity:ü",
            after={"amr": ["pwd"], "n": i, "text": "línea\n'dos'"},
            soon=True,
        )
    return list(AuditOutbox.objects.order_by("id"))


@pytest.mark.parametrize("stuck", [set(), {"global"}, {"global", "tenant:0"}])
@pytest.mark.parametrize("batch", [1, 2, 100])
def test_it_reads_the_waiting_rows_the_orm_reads(waiting, stuck, batch):
    orm = AuditOutbox.objects.exclude(chain__in=stuck).order_by("id")[:batch]
    assert [(w.pk, w.chain, w.event) for w in outbox._waiting(stuck, batch)] == sorted(
        (row.pk, row.chain, row.event) for row in orm
    )


def test_it_deletes_the_rows_the_orm_deletes(waiting):
    ids = [waiting[0].pk, waiting[3].pk]
    written = undone(lambda: chain.statement(chain.DELETE_WAITING, 2, ids), lambda: stored(AuditOutbox))
    orm = undone(lambda: AuditOutbox.objects.filter(id__in=ids).delete(), lambda: stored(AuditOutbox))
    assert written[1] == orm[1] and len(written[1]) == 3


def test_it_reads_and_moves_a_chain_head_as_the_orm_does(tenant):
    audit.record(None, Action.CLIENT_CREATE, tenant=tenant)
    head = AuditChainHead.objects.get(chain=audit.chain_for(tenant.pk))
    assert chain.statement(chain.LOCK_HEAD, 1, [head.chain]) == [(head.pk, head.last_hash)]
    assert chain.statement(chain.LOCK_HEAD, 1, ["tenant:0"]) == []
    written = undone(
        lambda: chain.statement(chain.UPDATE_HEAD, 1, ["f" * 64, head.pk]), lambda: stored(AuditChainHead)
    )
    orm = undone(
        lambda: AuditChainHead.objects.filter(pk=head.pk).update(last_hash="f" * 64),
        lambda: stored(AuditChainHead),
    )
    assert written[1] == orm[1]


AT = timezone.now().replace(microsecond=654321)


def _events(tenant) -> list[AuditEvent]:
    made = [
        audit.events.build(
            None,
            Action.CONSENT_ACCEPT,
            tenant=tenant,
            target="app",
            outcome="success",
            before=None,
            after={"grant_scope": ["openid"], "nul": "a\x00b", "n": 1.5},
            detail="línea\n'dos'",
            actor="identity:ü",
        ),
        audit.events.build(
            None,
            Action.LOGIN_REJECT,
            tenant=None,
            target="",
            outcome="failure",
            before={"k": [1, None]},
            after=None,
            detail="",
            actor=None,
        ),
    ]
    for i, event in enumerate(made):
        event.created_at, event.prev_hash, event.hash = AT, "0" * 64, f"{i}" * 64
    return made


def test_it_inserts_events_exactly_as_the_orm_saves_them(tenant):
    def look() -> list[tuple[object, ...]]:
        return stored(AuditEvent, leave_out=("id",))

    sent = _events(tenant)
    written = undone(lambda: chain._insert(sent), look)
    orm = undone(lambda: AuditEvent.objects.bulk_create(_events(tenant)), look)
    assert written[1] == orm[1] and len(written[1]) == 2
    assert sent[0].pk < sent[1].pk and not sent[0]._state.adding  # ids handed out in insertion order
