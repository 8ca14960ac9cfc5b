"""Forms of the resident pages: report a problem, rate a reply, reopen a closed request."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from onecity.core.errors import ApplicationError
from onecity.hotline.enums import Satisfaction
from onecity.hotline.models import Category
from onecity.hotline.services.attachments import PHOTO_MAX_COUNT, photos_check
from onecity.hotline.services.intake import ADDRESS_MAX, TEXT_MAX, TEXT_MIN
from onecity.identity.enums import OrganizationKind
from onecity.identity.selectors.accounts import organization_list_active


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name()


class DistrictChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name()


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    widget = MultiplePhotoInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        return [super(MultiplePhotoField, self).clean(f, initial) for f in files]


class ReportForm(forms.Form):
    text = forms.CharField(
        label=_("What happened"), min_length=TEXT_MIN, max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": _(
            "For example: the street lamp at the north gate of Xihu Park has been out for a week; it is "
            "very dark at night.")}),
        help_text=_("Say what the problem is, since when, and how it affects you. Do not include ID "
                    "numbers or other people's personal details."))
    category = CategoryChoiceField(
        label=_("Type of problem"), required=False, queryset=Category.objects.none(),
        empty_label=_("Not sure — let the hotline decide"),
        help_text=_("If you are not sure, leave it: the hotline will choose the right department."))
    district = DistrictChoiceField(label=_("District or county"), queryset=Category.objects.none(),
                                   empty_label=_("Choose…"))
    address = forms.CharField(label=_("Street address"), max_length=ADDRESS_MAX,
                              help_text=_("Street, number and a landmark, e.g. 五四路 88号 东门口."))
    latitude = forms.DecimalField(label=_("Latitude"), required=False, min_value=-90, max_value=90,
                                  max_digits=9, decimal_places=6,
                                  widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))
    longitude = forms.DecimalField(label=_("Longitude"), required=False, min_value=-180, max_value=180,
                                   max_digits=10, decimal_places=6,
                                   widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))
    photos = MultiplePhotoField(
        label=_("Photos"), required=False,
        widget=MultiplePhotoInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))
    anonymous = forms.BooleanField(
        label=_("Hide my identity from the departments"), required=False,
        help_text=_("The departments handling it will not see your name or number; the hotline can still "
                    "reach you about the outcome."))
    contact_phone = forms.CharField(label=_("Mobile number for this request"), required=False, max_length=20,
                                    widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))

    def __init__(self, *args, account_phone_masked: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(is_active=True, parent__isnull=True)
        self.fields["district"].queryset = organization_list_active(kinds=(OrganizationKind.DISTRICT,))
        if account_phone_masked:
            self.fields["contact_phone"].help_text = _(
                "Leave empty to be contacted on your account's number %(phone)s.") % {"phone": account_phone_masked}
            self.fields["contact_phone"].widget.attrs["placeholder"] = account_phone_masked
        self.fields["photos"].help_text = _("Up to %(max)d photos, JPEG, PNG or WebP, at most 5 MB each.") % {
            "max": PHOTO_MAX_COUNT}
        self.checked_photos = []

    def clean_photos(self):
        try:
            self.checked_photos = photos_check(self.cleaned_data.get("photos") or [])
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None
        return self.cleaned_data.get("photos") or []

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("latitude") is None) != (cleaned.get("longitude") is None) \
                and "latitude" not in self.errors and "longitude" not in self.errors:
            self.add_error("latitude", _("Please give both latitude and longitude, or neither."))
        return cleaned


RESIDENT_SATISFACTION = [(Satisfaction.SATISFIED, Satisfaction.SATISFIED.label),
                         (Satisfaction.BASICALLY_SATISFIED, Satisfaction.BASICALLY_SATISFIED.label),
                         (Satisfaction.NOT_SATISFIED, Satisfaction.NOT_SATISFIED.label)]


class RatingForm(forms.Form):
    satisfaction = forms.ChoiceField(label=_("How satisfied are you with the outcome?"),
                                     choices=RESIDENT_SATISFACTION, widget=forms.RadioSelect)
    note = forms.CharField(label=_("Comment"), required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("If you are not satisfied, say what is still wrong: a supervisor will "
                                       "review it."))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("satisfaction") == Satisfaction.NOT_SATISFIED and not (cleaned.get("note") or "").strip():
            self.add_error("note", _("Please say what is still wrong."))
        return cleaned


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("Why does it need reopening?"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("For example: the problem came back a few days after the repair."))


class RemindForm(forms.Form):
    note = forms.CharField(label=_("Message to the department"), max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("For example: it is getting worse, please come soon. You can send one "
                                       "reminder a day."))
