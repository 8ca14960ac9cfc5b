"""Forms of the payments pages: they parse; services validate and decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from onecity.payments.enums import BillKind, BillState, Channel
from onecity.payments.selectors import CODE_PAYMENT_STATES


class BillIssueForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", "—")] + list(BillKind.choices))
    title = forms.CharField(label=_("Title"), max_length=120,
                            help_text=_("What the payer sees, e.g. “2026年秋季学期学费”."))
    amount = forms.CharField(label=_("Amount (yuan)"), max_length=20, help_text=_("E.g. 1280.50"))
    due_date = forms.DateField(label=_("Due date"), widget=forms.DateInput(attrs={"type": "date"}),
                               error_messages={"invalid": _("Enter the due date as YYYY-MM-DD.")})
    resident_phone = forms.CharField(label=_("Payer's mobile number"), max_length=20, required=False)
    payer_id_number = forms.CharField(label=_("Payer's resident ID number"), max_length=18, required=False)
    payer_name = forms.CharField(label=_("Payer's name"), max_length=40, required=False,
                                 help_text=_("Needed only when the payer has not registered with e-Fuzhou."))
    allow_partial = forms.BooleanField(label=_("Allow part payments"), required=False)
    min_partial = forms.CharField(label=_("Smallest part payment (yuan)"), max_length=20, required=False)
    external_ref = forms.CharField(label=_("Your reference"), max_length=64, required=False,
                                   help_text=_("Your own number for this bill; the same reference never issues "
                                               "a second bill."))
    description = forms.CharField(label=_("Details"), max_length=500, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].error_messages["required"] = _("Choose the kind of bill.")
        self.fields["title"].error_messages["required"] = _("Give the bill a title, e.g. “2026年秋季学期学费”.")
        self.fields["amount"].error_messages["required"] = _("Enter the amount in yuan.")
        self.fields["due_date"].error_messages["required"] = _("Enter the due date as YYYY-MM-DD.")


class BillImportForm(forms.Form):
    file = forms.FileField(label=_("CSV or Excel file"),
                           help_text=_("The first row names the columns; see the template below."),
                           error_messages={"required": _("Choose a .csv or .xlsx file.")})


class BillCancelForm(forms.Form):
    reason = forms.CharField(label=_("Why is the bill cancelled?"), max_length=300,
                             error_messages={"required": _("Say why the bill is cancelled.")})


class BillFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Title or reference")}))
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=[("", pgettext_lazy("filter", "All"))] + list(BillState.choices))
    kind = forms.ChoiceField(label=_("Kind"), required=False,
                             choices=[("", pgettext_lazy("filter", "All"))] + list(BillKind.choices))
    due_from = forms.DateField(label=_("Due from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    due_to = forms.DateField(label=_("Due until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class CodePaymentFilterForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), required=False, choices=[("", pgettext_lazy("filter", "All"))] + [
        (s.value, s.label) for s in CODE_PAYMENT_STATES])
    channel = forms.ChoiceField(label=_("Channel"), required=False,
                                choices=[("", pgettext_lazy("filter", "All"))] + list(Channel.choices))
    day = forms.DateField(label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class StaticPayForm(forms.Form):
    amount = forms.CharField(label=_("Amount (yuan)"), max_length=20,
                             error_messages={"required": _("Enter the amount in yuan.")})


class RefundForm(forms.Form):
    amount = forms.CharField(label=_("Amount to refund (yuan)"), max_length=20, help_text=_("E.g. 50.00"))
    reason = forms.CharField(label=_("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("The payer and the approving cashier see it."))
    idem = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].error_messages["required"] = _("Enter the amount to refund in yuan.")
        self.fields["reason"].error_messages["required"] = _("Give the reason for the refund.")


class RefundDecisionForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=300, required=False,
                           help_text=_("Needed when you reject: the requesting cashier sees it."))
