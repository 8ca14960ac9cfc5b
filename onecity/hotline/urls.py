from django.urls import path

from onecity.hotline.views import desk, operator, resident

app_name = "hotline"

urlpatterns: list = []

urlpatterns += [  # resident pages (views/resident.py)
    path("report/", resident.report, name="report"),
    path("report/done/<str:case_id>/", resident.report_done, name="report_done"),
    path("my/", resident.my_list, name="my_list"),
    path("my/<str:case_id>/", resident.my_detail, name="my_detail"),
    path("my/<str:case_id>/rate/", resident.my_rate, name="my_rate"),
    path("my/<str:case_id>/reopen/", resident.my_reopen, name="my_reopen"),
    path("my/<str:case_id>/remind/", resident.my_remind, name="my_remind"),
    path("rate/<str:token>/", resident.rate_link, name="rate_link"),
    path("photos/<str:photo_id>/", resident.photo, name="photo"),
    path("photos/<str:photo_id>/thumb/", resident.photo, {"size": "thumb"}, name="photo_thumb"),
    path("answers/", resident.answers, name="answers"),
]

urlpatterns += [  # operator console and knowledge base (views/operator.py)
    path("console/", operator.console, name="console"),
    path("console/lookup/", operator.console_lookup, name="console_lookup"),
    path("console/knowledge/", operator.console_knowledge, name="console_knowledge"),
    path("console/knowledge/<str:public_id>/pick/", operator.console_pick, name="console_pick"),
    path("console/requests/", operator.console_register, name="console_register"),
    path("knowledge/", operator.knowledge, name="knowledge"),
    path("knowledge/new/", operator.knowledge_create, name="knowledge_create"),
    path("knowledge/<str:public_id>/edit/", operator.knowledge_edit, name="knowledge_edit"),
    path("knowledge/<str:public_id>/deactivate/", operator.knowledge_deactivate, name="knowledge_deactivate"),
    path("knowledge/<str:public_id>/reactivate/", operator.knowledge_reactivate, name="knowledge_reactivate"),
]

urlpatterns += [  # staff desk: dispatch, department and supervision queues, the case view (views/desk.py)
    path("desk/dispatch/", desk.desk_dispatch, name="desk_dispatch"),
    path("desk/unit/", desk.desk_unit, name="desk_unit"),
    path("desk/supervision/", desk.desk_supervision, name="desk_supervision"),
    path("desk/hotspots/", desk.desk_hotspots, name="desk_hotspots"),
    path("desk/cases/<str:public_id>/", desk.desk_case, name="desk_case"),
    path("desk/cases/<str:public_id>/<str:action>/", desk.desk_case_act, name="desk_case_act"),
]
