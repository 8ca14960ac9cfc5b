from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganizationKind(models.TextChoices):
    DEPARTMENT = "department", _("City department")
    DISTRICT = "district", _("District or county government")
    SUBUNIT = "subunit", _("Sub-unit")
    PAYEE = "payee", _("Payee unit")


class PayeeType(models.TextChoices):
    SCHOOL = "school", _("School")
    HOSPITAL = "hospital", _("Hospital")
    TRANSIT = "transit", _("Transit operator")
    UTILITY = "utility", _("Utility")
    AGENCY = "agency", _("Government agency")


class UserKind(models.TextChoices):
    CITIZEN = "citizen", _("Citizen")
    STAFF = "staff", _("Staff")


class Role(models.TextChoices):
    HOTLINE_OPERATOR = "hotline_operator", _("Hotline operator")
    DISPATCHER = "dispatcher", _("Dispatcher")
    DEPARTMENT_HANDLER = "department_handler", _("Department handler")
    SUPERVISOR = "supervisor", _("Supervisor")
    APPLICATION_REVIEWER = "application_reviewer", _("Application reviewer")
    PAYEE_CASHIER = "payee_cashier", _("Payee cashier")
    FINANCE = "finance", _("Platform finance")
    AUDITOR = "auditor", _("Auditor")
    ADMINISTRATOR = "administrator", _("Administrator")


class AssuranceLevel(models.TextChoices):
    """`acr` values. L1: password. L2: password plus an SMS one-time code."""

    L1 = "urn:onecity:acr:l1", _("Password")
    L2 = "urn:onecity:acr:l2", _("Password and one-time code")


class OtpPurpose(models.TextChoices):
    REGISTER = "register", _("Registration")
    LOGIN = "login", _("Sign-in")
    STEP_UP = "step_up", _("Extra verification")
    RESET = "reset", _("Password reset")


class ConsentDecision(models.TextChoices):
    GRANTED = "granted", _("Allowed")
    DENIED = "denied", _("Refused")


class SigningKeyPurpose(models.TextChoices):
    IDENTITY_CODE = "idcode", _("Identity code")
