"""Operator sign-in is throttled per account and per client address (issue 9, item 10)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-1"


@pytest.fixture(autouse=True)
def clean_cache(settings: Any) -> Any:
    settings.LOGIN_FAILURES_PER_ACCOUNT = 5
    settings.LOGIN_FAILURES_PER_IP = 20
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_user("alice", password=PASSWORD)


def sign_in(username: str, password: str, ip: str = "203.0.113.7") -> Any:
    return Client(REMOTE_ADDR=ip).post(reverse("login"), {"username": username, "password": password})


def test_it_refuses_the_sixth_attempt_on_an_account_even_with_the_right_password(operator: User) -> None:
    for _ in range(5):
        assert sign_in("alice", "wrong").status_code == 200  # the form again, with its error
    response = sign_in("alice", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in response.client.session
    # The account counter is per username (case-insensitively), from any address.
    assert sign_in("ALICE", PASSWORD, ip="198.51.100.9").status_code == 429


def test_it_counts_only_failures_and_resets_the_account_on_success(operator: User) -> None:
    for _ in range(4):
        sign_in("alice", "wrong")
    assert sign_in("alice", PASSWORD).status_code == 302
    for _ in range(4):
        assert sign_in("alice", "wrong").status_code == 200
    assert sign_in("alice", PASSWORD).status_code == 302
    for _ in range(10):  # successes alone never throttle
        assert sign_in("alice", PASSWORD).status_code == 302


def test_it_throttles_an_address_that_guesses_many_accounts(operator: User) -> None:
    for i in range(20):
        assert sign_in(f"user{i}", "wrong").status_code == 200
    blocked = sign_in("alice", PASSWORD)
    assert blocked.status_code == 429
    # Another address is unaffected, and alice's own account was never the one being guessed.
    assert sign_in("alice", PASSWORD, ip="198.51.100.9").status_code == 302


def test_it_forgets_failures_after_the_window(operator: User, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    for _ in range(5):
        sign_in("alice", "wrong")
    assert sign_in("alice", PASSWORD).status_code == 429
    later = time.time() + 15 * 60 + 1
    monkeypatch.setattr("django.core.cache.backends.locmem.time.time", lambda: later)
    assert sign_in("alice", PASSWORD).status_code == 302
