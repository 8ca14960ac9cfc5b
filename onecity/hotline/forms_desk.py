"""Small forms for the staff desk: one per work-order action, plus the queue filters.

The forms only parse; the rules (a reason is required, a sub-unit must belong to the unit, the
state allows the action...) live in the services, whose ApplicationError lands on the field it
names (`add_error`). Text fields are therefore optional here: the service's sentence is the one
the user reads.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from onecity.hotline.enums import Channel, Satisfaction, Urgency
from onecity.hotline.models import Category
from onecity.identity.enums import OrganizationKind
from onecity.identity.selectors.accounts import organization_list_active


def _textarea(rows: int = 2, placeholder=None):
    attrs = {"rows": rows}
    if placeholder:
        attrs["placeholder"] = placeholder
    return forms.Textarea(attrs=attrs)


def category_choices(blank=None):
    categories = Category.objects.filter(is_active=True).select_related("parent")
    rows = [(c.code, f"{c.parent.display_name()} › {c.display_name()}" if c.parent_id else c.display_name())
            for c in categories]
    rows.sort(key=lambda r: r[1])
    return ([("", blank)] if blank is not None else []) + rows


def district_choices(blank):
    return [("", blank)] + [(str(o.pk), o.display_name())
                            for o in organization_list_active(kinds=(OrganizationKind.DISTRICT,))]


def first_level_units():
    return organization_list_active(kinds=(OrganizationKind.DEPARTMENT, OrganizationKind.DISTRICT))


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=_textarea())


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000, widget=_textarea())


class AcceptForm(forms.Form):
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices(blank=_("Keep the current category"))
        if case is not None and not self.is_bound:
            self.initial.setdefault("urgency", case.urgency)


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("Answer given to the resident"), required=False, max_length=4000,
                             widget=_textarea(4))


class ClassifyForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), required=False)

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices(blank=_("Choose a category"))
        if case is not None and case.category_id and not self.is_bound:
            self.initial.setdefault("category", case.category.code)


class DispatchForm(forms.Form):
    unit = forms.ChoiceField(label=_("Responsible unit"), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    note = forms.CharField(label=_("Note to the unit"), required=False, max_length=2000, widget=_textarea())

    def __init__(self, *args, case=None, proposed_unit_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        units = list(first_level_units())
        self.units = {str(u.pk): u for u in units}
        self.fields["unit"].choices = [("", _("Choose a unit"))] + [
            (str(u.pk), f"{u.display_name()} ({_('proposed')})" if u.pk == proposed_unit_id else u.display_name())
            for u in units]
        self.fields["category"].choices = category_choices(blank=_("Choose a category"))
        if not self.is_bound:
            if proposed_unit_id:
                self.initial.setdefault("unit", str(proposed_unit_id))
            if case is not None and case.category_id:
                self.initial.setdefault("category", case.category.code)

    def unit_obj(self):
        return self.units.get(self.cleaned_data.get("unit") or "")


class SubDispatchForm(forms.Form):
    subunit = forms.ChoiceField(label=_("Sub-unit"), required=False)
    note = forms.CharField(label=_("Note to the sub-unit"), required=False, max_length=2000, widget=_textarea())

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        parent = case.assigned_unit_id if case is not None else None
        subunits = list(organization_list_active().filter(parent_id=parent).order_by("name")) if parent else []
        self.subunits = {str(u.pk): u for u in subunits}
        self.fields["subunit"].choices = [("", _("Choose a sub-unit"))] + [(str(u.pk), u.display_name())
                                                                        for u in subunits]

    def subunit_obj(self):
        return self.subunits.get(self.cleaned_data.get("subunit") or "")


class ReplyForm(forms.Form):
    reply = forms.CharField(label=_("Reply (the resident reads this)"), required=False, max_length=4000,
                            widget=_textarea(5))


class VisitForm(forms.Form):
    satisfaction = forms.ChoiceField(label=_("Resident's verdict"), required=False,
                                     choices=[("", _("Choose"))] + list(Satisfaction.choices))
    note = forms.CharField(label=_("Comment"), required=False, max_length=2000, widget=_textarea())


class ExtensionRequestForm(forms.Form):
    days = forms.IntegerField(label=_("Extra working days"), required=False, min_value=1)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000, widget=_textarea())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].widget.attrs["max"] = int(getattr(settings, "HOTLINE_MAX_EXTENSION_DAYS", 15))


class ExtensionDecisionForm(forms.Form):
    request_id = forms.CharField(widget=forms.HiddenInput, required=False)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=_textarea())


class MergeForm(forms.Form):
    into = forms.ChoiceField(label=_("Merge into"), required=False)
    number = forms.CharField(label=_("or tracking number"), required=False, max_length=40)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=_textarea())

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["into"].choices = [("", _("Choose a similar open request"))] + [
            (c.public_id, f"{c.tracking_number} · {c.title}") for c in candidates]
        self.fields["number"].widget.attrs["placeholder"] = "FZ12345-20261123-000123"


#: action → form class (actions without fields use an empty form)
ACTION_FORMS: dict[str, type[forms.Form]] = {
    "accept": AcceptForm,
    "reject": ReasonForm,
    "answer": AnswerForm,
    "merge": MergeForm,
    "classify": ClassifyForm,
    "dispatch": DispatchForm,
    "sub_dispatch": SubDispatchForm,
    "return": ReasonForm,
    "sub_return": ReasonForm,
    "sign": forms.Form,
    "start": NoteForm,
    "reply": ReplyForm,
    "visit": VisitForm,
    "close": NoteForm,
    "redo": ReasonForm,
    "reopen": ReasonForm,
    "extension_request": ExtensionRequestForm,
    "extension_approve": ExtensionDecisionForm,
    "extension_refuse": ExtensionDecisionForm,
    "supervise": NoteForm,
    "remind": NoteForm,
}


class FilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    district = forms.TypedChoiceField(label=_("District"), required=False, coerce=int, empty_value=None)
    category = forms.ChoiceField(label=_("Category"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), required=False,
                                choices=[("", _("All channels"))] + list(Channel.choices))
    urgency = forms.ChoiceField(label=_("Urgency"), required=False,
                                choices=[("", _("Any urgency"))] + list(Urgency.choices))
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].choices = district_choices(_("All districts"))
        self.fields["category"].choices = category_choices(blank=_("All categories"))
