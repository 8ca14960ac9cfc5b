"""Test environment, loaded as a pytest plugin (`-p onecity.pytest_env` in pyproject addopts).

It must run before pytest-django imports the settings, which happens in
`pytest_load_initial_conftests`, i.e. before the root conftest.py is imported; setting these
variables in conftest.py alone is too late. Isolated var/ directory, immediate task queue,
development SMS inbox on.
"""

import os
import tempfile

VAR_DIR = os.environ.setdefault("ONECITY_VAR_DIR", tempfile.mkdtemp(prefix="onecity-test-var-"))
os.environ.setdefault("ONECITY_HUEY_IMMEDIATE", "1")
os.environ.setdefault("ONECITY_DEV_INBOX", "1")
os.environ.setdefault("ONECITY_PLAIN_STATIC", "1")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
