from onecity.analytics.tests.payments_support import pay_stats_city  # noqa: F401
from onecity.analytics.tests.support import stats_city  # noqa: F401
from onecity.hotline.tests.support import city, clock, fast_hashing  # noqa: F401
