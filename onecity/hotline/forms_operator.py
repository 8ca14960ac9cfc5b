"""Forms of the operator console and the knowledge-base pages. They parse input; the rules
(lengths, districts, phone numbers, roles) are the services' and come back as field errors."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from onecity.core.errors import ApplicationError
from onecity.hotline.enums import Channel, Urgency
from onecity.hotline.models import Category
from onecity.hotline.selectors.operator import (
    CONSOLE_CHANNELS,
    console_categories,
    console_districts,
    console_units,
)


def add_service_error(form: forms.Form, error: ApplicationError) -> None:
    """Show a service's error next to its field (or at the top of the form)."""
    field = error.field if error.field in form.fields and not form.fields[error.field].widget.is_hidden else None
    form.add_error(field, str(error.message))


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Category) -> str:
        name = obj.display_name()
        return f"{obj.parent.display_name()} › {name}" if obj.parent_id else name


class OrganizationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.display_name()


class CallerLookupForm(forms.Form):
    phone = forms.CharField(
        label=_("Caller's mobile number"), max_length=20,
        error_messages={"required": _("Please enter the number the caller is calling from.")},
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "numeric", "autocomplete": "off",
                                      "placeholder": "138 0000 0000", "autofocus": True}),
    )


class ConsoleRequestForm(forms.Form):
    """A request taken down on a caller's behalf; `entry` set = answered directly from it."""

    channel = forms.ChoiceField(label=_("Received through"), choices=[(c.value, c.label) for c in CONSOLE_CHANNELS],
                                initial=Channel.PHONE)
    text = forms.CharField(label=_("What the caller reports"), max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 4}))
    title = forms.CharField(label=_("Title"), max_length=120, required=False,
                            help_text=_("Left empty, the first line of the text is used."))
    category = CategoryChoiceField(label=_("Category"), queryset=Category.objects.none(), required=False,
                                   empty_label=_("Let dispatch decide"))
    district = OrganizationChoiceField(label=_("District or county"), queryset=console_districts().none(),
                                       empty_label=_("Choose…"),
                                       error_messages={"required": _("Please choose the district or county "
                                                                     "where it happened.")})
    address = forms.CharField(label=_("Street address"), max_length=200,
                              error_messages={"required": _("Please tell us where it happened.")})
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.NORMAL)
    contact_name = forms.CharField(label=_("Caller's name"), max_length=40, required=False)
    contact_phone = forms.CharField(label=_("Contact mobile number"), max_length=20, required=False,
                                    widget=forms.TextInput(attrs={"type": "tel", "inputmode": "numeric",
                                                                  "autocomplete": "off"}))
    anonymous = forms.BooleanField(label=_("The caller wishes to stay anonymous"), required=False,
                                   help_text=_("Departments will not see who called; we still reply to the number."))
    entry = forms.CharField(required=False, max_length=26, widget=forms.HiddenInput)
    answer = forms.CharField(label=_("Answer given"), max_length=2000, required=False,
                             widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = console_categories()
        self.fields["district"].queryset = console_districts()


class KnowledgeSearchForm(forms.Form):
    q = forms.CharField(label=_("Search the knowledge base"), max_length=200, required=False,
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off",
                                                      "placeholder": _("e.g. 社保卡补办")}))


class KnowledgeFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=200, required=False,
                        widget=forms.TextInput(attrs={"type": "search"}))
    topic = forms.CharField(label=_("Topic"), max_length=60, required=False)
    inactive = forms.BooleanField(label=_("Show deactivated entries"), required=False)


class KnowledgeEntryForm(forms.Form):
    topic = forms.CharField(label=_("Topic"), max_length=60,
                            help_text=_("Entries are grouped by topic, e.g. a line for a city event."),
                            widget=forms.TextInput(attrs={"list": "topic-options"}))
    question = forms.CharField(label=_("Question"), max_length=200,
                               widget=forms.TextInput(attrs={"placeholder": _("As callers ask it")}))
    answer = forms.CharField(label=_("Answer"), max_length=2000, widget=forms.Textarea(attrs={"rows": 8}))
    keywords = forms.CharField(label=_("Keywords"), max_length=200, required=False,
                               help_text=_("Other words callers use, separated by spaces or commas."))
    category = CategoryChoiceField(label=_("Category"), queryset=Category.objects.none(), required=False,
                                   empty_label=_("None"))
    source_unit = OrganizationChoiceField(label=_("Answered by"), queryset=console_units().none(), required=False,
                                          empty_label=_("None"),
                                          help_text=_("The unit that provided or confirmed the answer."))
    is_public = forms.BooleanField(label=_("Show to residents in the portal"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = console_categories()
        self.fields["source_unit"].queryset = console_units()
