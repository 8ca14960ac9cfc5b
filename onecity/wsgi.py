import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onecity.settings")
_full = get_wsgi_application()

from onecity.core.callbacks import warm_up, with_callback_lane  # noqa: E402 (after Django is set up)

application = with_callback_lane(_full)
warm_up()
