from django.urls import path

from onecity.identity.views import accounts, idcode, staff, staff_admin
from onecity.identity.views import oidc as oidc_views

app_name = "identity"

urlpatterns = [
    path("", accounts.home, name="home"),
    path("login/", accounts.login_view, name="login"),
    path("login/step-up/", accounts.step_up, name="step_up"),
    path("logout/", accounts.logout_view, name="logout"),
    path("register/", accounts.register, name="register"),
    path("register/code/", accounts.register_send_code, name="register_send_code"),
    path("account/", accounts.account, name="account"),
    path("account/realname/", accounts.realname, name="realname"),
    path("account/password/", accounts.password_change_view, name="password_change"),
    path("password/reset/", accounts.password_reset, name="password_reset"),
    path("password/reset/code/", accounts.password_reset_send_code, name="password_reset_send_code"),
    path("staff/", staff.staff_home, name="staff_home"),
    path("staff/people/", staff.staff_people, name="staff_people"),
    path("staff/people/<str:public_id>/unmask/", staff.staff_person_unmask, name="staff_person_unmask"),
    path("staff/audit/", staff.staff_audit, name="staff_audit"),
    path("staff/accounts/", staff_admin.staff_accounts, name="staff_accounts"),
    path("staff/accounts/new/", staff_admin.staff_account_create, name="staff_account_create"),
    path("staff/accounts/organizations/", staff_admin.staff_account_organizations,
         name="staff_account_organizations"),
    path("staff/accounts/<str:public_id>/", staff_admin.staff_account, name="staff_account"),
    path("staff/accounts/<str:public_id>/roles/", staff_admin.staff_account_roles, name="staff_account_roles"),
    path("staff/accounts/<str:public_id>/password/", staff_admin.staff_account_password,
         name="staff_account_password"),
    path("staff/accounts/<str:public_id>/status/", staff_admin.staff_account_status, name="staff_account_status"),
    path("account/consents/", oidc_views.consents, name="consents"),
    path("account/consents/<str:public_id>/revoke/", oidc_views.consent_revoke_view, name="consent_revoke"),
    path("account/idcode/", idcode.idcode, name="idcode"),
    path("account/idcode/card/", idcode.idcode_fragment, name="idcode_fragment"),
    path("staff/idcode/verify/", idcode.idcode_verify_page, name="idcode_verify"),
    path(".well-known/idcode-keys.json", idcode.idcode_keys, name="idcode_keys"),
]
