from onecity.payments.tests.support import city, clock, fast_hashing  # noqa: F401
