"""Test-wide set-up: an isolated var/ directory, immediate task queue, development SMS inbox.

The environment is set in onecity/pytest_env.py, loaded with `-p onecity.pytest_env` (pyproject
addopts) because pytest-django imports the settings before this file is read. The import below
keeps it in effect when pytest runs with a different addopts.
"""

import pytest

from onecity.pytest_env import VAR_DIR as _VAR  # noqa: F401


def _transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        return True
    return bool({"transactional_db", "live_server"} & set(item.fixturenames))


def _plain_db_test(item) -> bool:
    """A test that uses the database inside a transaction rolled back at its end."""
    return not _transactional(item) and bool(item.get_closest_marker("django_db") or "db" in item.fixturenames)


def pytest_collection_modifyitems(items):
    """Have the test database's migration-seeded rows (the working-day calendar, the default
    time limits) serialized when it is created: transactional tests empty every table when they
    end, and `pytest_runtest_setup` puts those rows back before the next test that is not."""
    for item in items:
        if not _transactional(item):
            continue
        marker = item.get_closest_marker("django_db")
        if marker is not None:  # also `django_db` without transaction=True on a live_server test
            if not (marker.kwargs.get("transaction") and marker.kwargs.get("serialized_rollback")):
                kwargs = {**marker.kwargs, "transaction": True, "serialized_rollback": True}
                item.add_marker(pytest.mark.django_db(*marker.args, **kwargs), append=False)
        else:
            item.fixturenames.append("django_db_serialized_rollback")


#: whether the last test that ran was transactional, so the tables were emptied when it ended
_emptied = {"tables": False}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    """Before a database test that is not transactional, reload the rows the migrations seeded
    when a transactional test emptied the tables since, so no test on this worker depends on
    which tests ran before it (Django's own runner runs transactional tests last; pytest-xdist
    does not). A transactional test reloads them itself, at its set-up; `_seeded_rows` covers a
    database that was never serialized."""
    if _plain_db_test(item):
        from django.db import connections
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            for alias in connections:
                contents = getattr(connections[alias], "_test_serialized_contents", None)
                if contents and _emptied["tables"]:
                    connections[alias].creation.deserialize_db_from_string(contents)
        _emptied["tables"] = False
    yield


@pytest.fixture(autouse=True)
def _seeded_rows(request):
    """A database test that is not transactional finds the rows the migrations seeded even when
    the database was not serialized to put them back (a worker whose transactional tests are all
    live-server ones): when missing, the seeding migrations' own functions add them, inside the
    test's transaction (two cheap queries otherwise)."""
    if not _plain_db_test(request.node):
        yield
        return
    request.getfixturevalue("db")
    from onecity.core.models import CalendarDay
    from onecity.hotline.models import TimeLimitRule

    if not (CalendarDay.objects.exists() and TimeLimitRule.objects.filter(category__isnull=True).exists()):
        import importlib

        from django.apps import apps

        for module in ("onecity.core.migrations.0005_calendarday_seed",
                       "onecity.hotline.migrations.0002_default_time_limits"):
            importlib.import_module(module).seed(apps, None)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    if _transactional(item):
        _emptied["tables"] = True


@pytest.fixture(autouse=True)
def _calendar_reloaded():
    """The working-day calendar is cached per process; a test's own calendar rows (or a
    transactional test's emptied tables) must not linger in the cache of the next test."""
    from onecity.core.calendar import calendar_forget

    calendar_forget()
    yield
    calendar_forget()


@pytest.fixture(autouse=True)
def _language_restored():
    """A test (or a command it runs) that activates a language must not leave it active for
    the tests after it: services called outside a request speak the active language."""
    from django.utils import translation

    before = translation.get_language()
    yield
    if before:
        translation.activate(before)
    else:
        translation.deactivate_all()
