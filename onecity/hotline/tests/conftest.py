import pytest

from onecity.hotline.tests.support import city, clock, fast_hashing  # noqa: F401


@pytest.fixture(autouse=True)
def _reference_reloaded():
    """The hotline's reference data is cached per process (reference.py); a row a test edited
    in place and whose change was rolled back must not linger in the next test's copy."""
    from onecity.hotline.reference import reference_forget

    reference_forget()
    yield
    reference_forget()
