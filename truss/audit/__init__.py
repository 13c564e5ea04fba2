"""The audit log: one append-only, hash-chained event per mutation, with secrets redacted.

Each row's hash is SHA-256 over its canonical JSON and the previous row's hash, so editing, deleting or
reordering rows breaks the chain from that point on; `manage.py verify_audit` finds the first broken link.

There is one chain per tenant (plus one for events without a tenant), each with its own head row, so tenants
never wait for each other's appends; rows written before per-tenant chains stay in the "legacy" chain, which is
verified like the others. The head row only detects removal of a chain's newest rows while it is itself intact:
signed checkpoints (`checkpoint()`, `manage.py audit_checkpoint`, logged every AUDIT_CHECKPOINT_EVERY events)
are the anchor outside the table that `verify_chain(checkpoints=…)` checks truncation against.

One module per job: ``events`` builds an event (redaction, hashing), ``chain`` appends to a chain (its SQL and
retries), ``outbox`` writes events ahead and drains them, ``verify`` walks chains and signs checkpoints;
``recording`` is the front callers use; ``actions`` is the registry of every action (``audit.Action``);
``stream`` delivers chained events to a file and a webhook (``manage.py stream_audit``).
Callers import the package: ``from truss import audit; audit.record(...)``.
"""

from __future__ import annotations

from truss.audit.actions import Action, ConsentDecision, UnknownAction
from truss.audit.events import (
    GENESIS,
    GLOBAL_CHAIN,
    LEGACY_CHAIN,
    actor_of,
    chain_for,
    compute_hash,
    logger,
    not_chained,
    not_chained_counts,
)
from truss.audit.outbox import OutboxStuck, drain_outbox
from truss.audit.recording import Mutation, mutation, record
from truss.audit.verify import (
    CHECKPOINT_KIND,
    ChainReport,
    CheckpointError,
    chains,
    check_signature,
    checkpoint,
    read_checkpoints,
    verify_chain,
)

__all__ = [
    "Action",
    "UnknownAction",
    "CHECKPOINT_KIND",
    "GENESIS",
    "GLOBAL_CHAIN",
    "LEGACY_CHAIN",
    "ChainReport",
    "ConsentDecision",
    "CheckpointError",
    "Mutation",
    "OutboxStuck",
    "actor_of",
    "chain_for",
    "chains",
    "check_signature",
    "checkpoint",
    "compute_hash",
    "drain_outbox",
    "logger",
    "mutation",
    "not_chained",
    "not_chained_counts",
    "read_checkpoints",
    "record",
    "verify_chain",
]
