"""Shared fixtures. Browser tests use Debian's Chromium through Playwright; they are
skipped on a machine without it, except under CI, where a missing browser is an error."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.factories import UserFactory

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Playwright's sync API runs an event loop in the test thread; the tests themselves only
# touch the database between browser steps, never concurrently with them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.path.exists(CHROMIUM):
        return
    browser_items = [item for item in items if "browser" in item.keywords]
    if not browser_items:
        return
    if IN_CI:
        raise pytest.UsageError(
            f"CI=true but Chromium is missing at {CHROMIUM}: browser tests would be skipped. "
            "Install Debian's chromium package (.ci/run does)."
        )
    skip = pytest.mark.skip(
        reason=f"Chromium not installed at {CHROMIUM} (apt-get install chromium)"
    )
    for item in browser_items:
        item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # The default PBKDF2 costs ~0.3 s per hash: fine for people, slow for a test suite.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _private_cache(settings) -> None:
    # Each test gets an empty cache of its own, never the files of a running `make run`.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "tests",
        }
    }
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def excuse_library(db) -> None:
    """The excuse library as the data migration seeds it. Tests on `transactional_db`
    empty every table after them, the migration's rows included, so tests that pick an
    excuse ask for this fixture instead of relying on test order."""
    import importlib

    from django.apps import apps

    seeding = importlib.import_module("dunning.migrations.0002_seed_excuses")
    seeding.seed(apps, None)


@pytest.fixture
def manager(db):
    return UserFactory(role="manager", username="mona")


@pytest.fixture
def collector(db):
    return UserFactory(role="collector", username="carl")


@pytest.fixture
def other_collector(db):
    return UserFactory(role="collector", username="cora")


@pytest.fixture
def finance(db):
    return UserFactory(role="finance", username="fiona")


@pytest.fixture
def auditor(db):
    return UserFactory(role="auditor", username="audrey")


@pytest.fixture
def agency_user(db):
    return UserFactory(role="agency", username="agnes")
