import os

from django.core.wsgi import get_wsgi_application

from onecity.core.callbacks import warm_up, with_callback_lane

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onecity.settings")
application = with_callback_lane(get_wsgi_application())
warm_up()
