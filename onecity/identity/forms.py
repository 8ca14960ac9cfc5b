"""Forms of the account pages. They parse input and show errors next to the fields; the rules
live in the services, whose ApplicationErrors are attached with `add_service_error`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from onecity.core.errors import ApplicationError
from onecity.identity.enums import Role
from onecity.identity.models import Organization
from onecity.identity.services.people import UNMASK_FIELDS


def add_service_error(form: forms.Form, error: ApplicationError) -> None:
    """Show a service's error next to its field (or at the top of the form)."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, str(error.message))


def form_submit(form: forms.Form, call: Callable[[dict], Any]) -> tuple[Any, int]:
    """Validate `form`, then run the service `call(form.cleaned_data)`. Returns (its result, 200);
    (None, 400) for invalid input; (None, the error's status) when the service refused, its
    message shown on the form."""
    if not form.is_valid():
        return None, 400
    try:
        return call(form.cleaned_data), 200
    except ApplicationError as exc:
        add_service_error(form, exc)
        return None, exc.status


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("Mobile number or user name"), max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"), strip=False, max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    with_code = forms.BooleanField(
        label=_("Also confirm with an SMS code (needed by some services)"), required=False,
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("SMS verification code"), min_length=6, max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]{6}"}),
        error_messages={"min_length": _("The verification code has 6 digits."),
                        "max_length": _("The verification code has 6 digits.")},
    )

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        if not code.isdigit():
            raise forms.ValidationError(_("The verification code has 6 digits."))
        return code


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"), max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )


def passwords_match(form: forms.Form, data: dict, first: str, second: str) -> dict:
    """Report on `second` when the two password fields differ; returns `data` for clean()."""
    if data.get(first) and data.get(second) and data[first] != data[second]:
        form.add_error(second, _("The two passwords are not the same."))
    return data


class NewPasswordFields(forms.Form):
    """A new password typed twice (password change and reset)."""

    new_password = forms.CharField(
        label=_("New password"), strip=False, max_length=128,
        help_text=_("At least 8 characters; not only digits and not a common password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label=_("New password again"), strip=False, max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        return passwords_match(self, super().clean(), "new_password", "new_password2")


class RegisterForm(CodeForm):
    phone = forms.CharField(
        label=_("Mobile number"), max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    display_name = forms.CharField(
        label=_("What should we call you?"), max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
    )
    password = forms.CharField(
        label=_("Password"), strip=False, max_length=128,
        help_text=_("At least 8 characters; not only digits and not a common password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"), strip=False, max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    field_order = ["phone", "code", "display_name", "password", "password2"]

    def clean(self):
        return passwords_match(self, super().clean(), "password", "password2")


class PasswordResetForm(NewPasswordFields, CodeForm):
    phone = forms.CharField(
        label=_("Mobile number"), max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    field_order = ["phone", "code", "new_password", "new_password2"]


class RealNameForm(forms.Form):
    legal_name = forms.CharField(
        label=_("Legal name"), max_length=40, help_text=_("As printed on your resident ID card."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    id_number = forms.CharField(
        label=_("Resident ID number"), min_length=18, max_length=18,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
        error_messages={
            "min_length": _("A resident ID number has 18 characters: 17 digits and a final digit or X."),
            "max_length": _("A resident ID number has 18 characters: 17 digits and a final digit or X."),
        },
    )
    consent = forms.BooleanField(
        label=_("I agree that OneCity checks my name and ID number with the population registry."),
        error_messages={"required": _("Please agree to the registry check to continue.")},
    )


class PasswordChangeForm(NewPasswordFields):
    old_password = forms.CharField(
        label=_("Current password"), strip=False, max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["old_password", "new_password", "new_password2"]


class PeopleSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Mobile number or resident ID number"), max_length=32,
        help_text=_("Exact numbers only; partial searches are not possible."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class UnmaskForm(forms.Form):
    field = forms.ChoiceField(label=_("Show"), choices=list(UNMASK_FIELDS.items()))
    reason = forms.CharField(
        label=_("Reason"), max_length=300,
        help_text=_("Recorded in the audit log with your name, e.g. the hotline ticket number."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class AuditFilterForm(forms.Form):
    action = forms.CharField(label=pgettext_lazy("audit log", "Action"), max_length=64, required=False)
    actor = forms.CharField(label=_("Done by (user name)"), max_length=64, required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start: dt.date | None = data.get("date_from")
        end: dt.date | None = data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


# --- staff accounts (administrators) -----------------------------------------------------------
class OrganizationChoiceField(forms.ModelChoiceField):
    """An organization chosen by its public id, labelled in the reader's language."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Organization.objects.none())
        kwargs.setdefault("to_field_name", "public_id")
        super().__init__(**kwargs)

    def label_from_instance(self, obj):
        return obj.display_name()


STAFF_STATES = {"active": True, "inactive": False}
STAFF_PASSWORD_HELP = _("At least 8 characters; not only digits and not a common password. "
                        "Give it to the staff member in person and ask them to change it after signing in.")


class StaffFilterForm(forms.Form):
    q = forms.CharField(label=_("Name or user name"), max_length=64, required=False,
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "spellcheck": "false"}))
    organization = OrganizationChoiceField(label=_("Organization"), required=False,
                                           empty_label=_("All organizations"))
    role = forms.ChoiceField(label=_("Role"), required=False, choices=[("", _("All roles")), *Role.choices])
    state = forms.ChoiceField(label=_("Status"), required=False, choices=[
        ("", _("All")), ("active", _("Active")), ("inactive", _("Deactivated"))])

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:
            self.fields["organization"].queryset = organizations

    def filters(self) -> dict:
        """The valid filters (an invalid one is shown as an error and left out)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else getattr(self, "cleaned_data", {})
        return {
            "query": (data.get("q") or "").strip(),
            "organization": data.get("organization"),
            "role": data.get("role") or "",
            "active": STAFF_STATES.get(data.get("state") or ""),
        }


class StaffPasswordFields(forms.Form):
    password = forms.CharField(
        label=_("Temporary password"), strip=False, max_length=128, help_text=STAFF_PASSWORD_HELP,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"), strip=False, max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        return passwords_match(self, super().clean(), "password", "password2")


class StaffRolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=_("Roles"), choices=Role.choices, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Please choose at least one role.")},
    )


class StaffCreateForm(StaffPasswordFields):
    organization = OrganizationChoiceField(
        label=_("Organization"), empty_label=_("Choose an organization"),
        error_messages={"required": _("Please choose the staff member's organization."),
                        "invalid_choice": _("Please choose the staff member's organization.")},
    )
    username = forms.CharField(
        label=_("User name"), max_length=64,
        help_text=_("Used to sign in: 3 to 64 lower-case letters, digits, dots, dashes or underscores, "
                    "starting with a letter."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}),
    )
    display_name = forms.CharField(
        label=_("Full name"), max_length=40, help_text=_("Shown to colleagues and in the audit log."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    roles = StaffRolesForm.base_fields["roles"]
    field_order = ["organization", "username", "display_name", "password", "password2", "roles"]

    def clean_username(self):
        from onecity.identity.services.accounts import staff_username_clean

        try:
            return staff_username_clean(self.cleaned_data["username"])
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message), code=exc.code) from None

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].label = _("Initial password")
        if organizations is not None:
            self.fields["organization"].queryset = organizations


class StaffStatusForm(forms.Form):
    action = forms.ChoiceField(choices=[("deactivate", _("Deactivate")), ("reactivate", _("Reactivate"))],
                               widget=forms.HiddenInput)
