from onecity.hotline.tests.support import city, clock, fast_hashing  # noqa: F401
