"""Tables of the 12345 hotline: categories, the dispatch matrix, time limits, work orders (cases),
their append-only event log, extension requests, supervision notes and escalations.

Organizations and people are referenced by string (`identity.Organization`,
settings.AUTH_USER_MODEL); this module imports nothing from the identity app. No business
logic here: writes go through services/, states through workflow.py.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from onecity.core.fields import EncryptedTextField
from onecity.core.ids import new_public_id
from onecity.hotline.enums import (
    Action,
    CaseState,
    Channel,
    Clock,
    ExtensionState,
    Satisfaction,
    SupervisionKind,
    TimeUnit,
    Urgency,
)

ORG = "identity.Organization"
USER = settings.AUTH_USER_MODEL


class Category(models.Model):
    """A request category, two levels deep (e.g. 城乡建设 › 违章搭建)."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               verbose_name=_("parent category"))
    default_urgency = models.CharField(_("default urgency"), max_length=10, choices=Urgency.choices,
                                       default=Urgency.NORMAL)
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name

    def display_name(self, language: str | None = None) -> str:
        from django.utils.translation import get_language

        language = language or get_language() or "zh-hans"
        return self.name_en if language.startswith("en") and self.name_en else self.name


class DispatchRoute(models.Model):
    """The category-to-department matrix: for a category in a district, the responsible unit.
    `district` empty = the city-wide default for the category."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="routes",
                                 verbose_name=_("category"))
    district = models.ForeignKey(ORG, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                 verbose_name=_("district"))
    unit = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="+", verbose_name=_("responsible unit"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("dispatch route")
        verbose_name_plural = _("dispatch routes")
        constraints = [
            models.UniqueConstraint(fields=["category", "district"], condition=Q(district__isnull=False),
                                    name="hotline_route_unique_per_district"),
            models.UniqueConstraint(fields=["category"], condition=Q(district__isnull=True),
                                    name="hotline_route_unique_citywide"),
        ]

    def __str__(self) -> str:
        return f"{self.category} → {self.unit}"


class TimeLimitRule(models.Model):
    """How long a unit has to sign for and to handle a case of a category and urgency.
    `category` empty = the default for that urgency. Looked up most specific first: the category,
    its parent, then the default (services/deadlines.py)."""

    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="time_limits", verbose_name=_("category"))
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices)
    sign_within = models.PositiveIntegerField(_("sign within"), validators=[MinValueValidator(1)])
    sign_unit = models.CharField(_("unit"), max_length=16, choices=TimeUnit.choices)
    handle_within = models.PositiveIntegerField(_("handle within"), validators=[MinValueValidator(1)])
    handle_unit = models.CharField(_("unit"), max_length=16, choices=TimeUnit.choices)

    class Meta:
        verbose_name = _("time limit")
        verbose_name_plural = _("time limits")
        constraints = [
            models.UniqueConstraint(fields=["category", "urgency"], condition=Q(category__isnull=False),
                                    name="hotline_timelimit_unique"),
            models.UniqueConstraint(fields=["urgency"], condition=Q(category__isnull=True),
                                    name="hotline_timelimit_default_unique"),
            models.CheckConstraint(condition=Q(sign_within__gt=0) & Q(handle_within__gt=0),
                                   name="hotline_timelimit_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.category or '*'} / {self.urgency}"


class TrackingCounter(models.Model):
    """Per-day sequence behind tracking numbers (FZ12345-20261123-000123)."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day:%Y%m%d} {self.last}"


class Case(models.Model):
    """A work order (工单): one request from a resident, followed from intake to closure."""

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    tracking_number = models.CharField(_("tracking number"), max_length=32, unique=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    state = models.CharField(_("state"), max_length=16, choices=CaseState.choices, default=CaseState.REGISTERED,
                             db_index=True)
    title = models.CharField(_("title"), max_length=120)
    text = models.TextField(_("what happened"))
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="cases",
                                 verbose_name=_("category"))
    classifier_confidence = models.FloatField(null=True, blank=True)
    classifier_suggestions = models.JSONField(default=list, blank=True)  # [{"category": code, "score": p}]
    # registered for the classifier and not read by it yet: smart dispatch takes these in batches
    awaiting_classifier = models.BooleanField(default=False, editable=False)
    district = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="+", verbose_name=_("district"))
    address = models.CharField(_("street address"), max_length=200)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True,
                                   validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True,
                                    validators=[MinValueValidator(-180), MaxValueValidator(180)])
    reporter = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="hotline_cases", verbose_name=_("reporter"))
    registered_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    anonymous = models.BooleanField(_("anonymous"), default=False)
    contact_name = EncryptedTextField(_("contact name"), blank=True)
    contact_phone = EncryptedTextField(_("contact phone"), blank=True)
    contact_phone_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)

    assigned_unit = models.ForeignKey(ORG, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                      verbose_name=_("responsible unit"))
    assigned_subunit = models.ForeignKey(ORG, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                         verbose_name=_("sub-unit"))

    # clocks: the overall one starts at acceptance and never resets; the per-state one restarts
    # at every transition; sign/handle deadlines are set on dispatch/sign (decision 0006)
    state_entered_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(_("overall deadline"), null=True, blank=True, db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    sign_due_at = models.DateTimeField(_("sign by"), null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    handle_due_at = models.DateTimeField(_("handle by"), null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    extended_days = models.PositiveSmallIntegerField(default=0)

    reply = models.TextField(_("reply"), blank=True)
    state_reason = models.CharField(_("reason"), max_length=500, blank=True)  # rejection / return reason
    satisfaction = models.CharField(_("satisfaction"), max_length=20, choices=Satisfaction.choices, blank=True)
    satisfaction_note = models.CharField(_("comment"), max_length=500, blank=True)
    reopened_count = models.PositiveSmallIntegerField(default=0)
    redo_count = models.PositiveSmallIntegerField(default=0)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="duplicates")
    # the Open311 client that filed it: only that key may read it back (decision 0008)
    open311_key = models.ForeignKey("Open311Key", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="cases", editable=False)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("hotline request")
        verbose_name_plural = _("hotline requests")
        indexes = [
            models.Index(fields=["assigned_unit", "state"]),
            models.Index(fields=["assigned_subunit", "state"]),
            models.Index(fields=["reporter", "-created_at"]),
            models.Index(fields=["state", "sign_due_at"]),
            models.Index(fields=["state", "handle_due_at"]),
            models.Index(fields=["updated_at"]),  # the statistics' refresh: cases changed since
            models.Index(fields=["district", "-created_at"]),  # duplicates and hot spots by district
            models.Index(fields=["id"], condition=Q(awaiting_classifier=True), name="hotline_case_awaiting_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=(Q(state="merged") & Q(merged_into__isnull=False))
                                   | (~Q(state="merged") & Q(merged_into__isnull=True)),
                                   name="hotline_case_merged_iff_target"),
        ]

    def __str__(self) -> str:
        return self.tracking_number

    @property
    def holder_id(self) -> int | None:
        """The organization currently holding the case (sub-unit first)."""
        return self.assigned_subunit_id or self.assigned_unit_id


class CaseEvent(models.Model):
    """Append-only timeline of a case: one row per transition or side action."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=24, choices=Action.choices)
    from_state = models.CharField(max_length=16, choices=CaseState.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=CaseState.choices, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"]), models.Index(fields=["action", "at"])]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action}"


class ExtensionRequest(models.Model):
    """延期申请: the holding unit asks for more working days; a dispatcher decides."""

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extension_requests")
    unit = models.ForeignKey(ORG, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    days = models.PositiveSmallIntegerField(_("extra working days"), validators=[MinValueValidator(1)])
    reason = models.CharField(_("reason"), max_length=500)
    state = models.CharField(max_length=10, choices=ExtensionState.choices, default=ExtensionState.PENDING)
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    handle_due_before = models.DateTimeField(null=True, blank=True)
    handle_due_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(state="pending"),
                                    name="hotline_one_pending_extension"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} +{self.days}"


class SupervisionNote(models.Model):
    """督办 (supervision by a supervisor) or 催办 (a reminder) sent to the holding unit."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="supervision_notes")
    kind = models.CharField(max_length=10, choices=SupervisionKind.choices)
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(ORG, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=500)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class Escalation(models.Model):
    """One overdue clock of a case, escalated to supervisors once (the unique constraint makes the
    periodic job idempotent; a moved deadline is a new clock and may be escalated again)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="escalations")
    clock = models.CharField(max_length=10, choices=Clock.choices)
    state = models.CharField(max_length=16, choices=CaseState.choices)
    due_at = models.DateTimeField()
    unit = models.ForeignKey(ORG, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "clock", "state", "due_at"], name="hotline_escalation_once"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.clock} {self.due_at:%Y-%m-%d %H:%M}"


class Attachment(models.Model):
    """A photo attached to a case (at most 6 per case). Checked by content (JPEG, PNG, WebP;
    never trusting the file name or the browser's type), size-limited, stored once per content
    under its SHA-256."""

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    sha256 = models.CharField(max_length=64, db_index=True)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    file = models.FileField(upload_to="hotline/attachments/", max_length=200)
    original_name = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        constraints = [models.UniqueConstraint(fields=["case", "sha256"], name="hotline_attachment_once_per_case")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.sha256[:12]}"


class KnowledgeEntry(models.Model):
    """A question-and-answer entry of the knowledge base, grouped by topic (for example a line
    for questions about a city summit). Operators answer from it; public entries are shown to
    residents in the portal."""

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    topic = models.CharField(_("topic"), max_length=60, db_index=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("category"))
    question = models.CharField(_("question"), max_length=200)
    answer = models.TextField(_("answer"))
    keywords = models.CharField(_("keywords"), max_length=200, blank=True)
    source_unit = models.ForeignKey(ORG, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("answered by"))
    is_public = models.BooleanField(_("shown to residents"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    use_count = models.PositiveIntegerField(_("times used"), default=0)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["topic", "-use_count", "id"]
        verbose_name = _("knowledge-base entry")
        verbose_name_plural = _("knowledge-base entries")

    def __str__(self) -> str:
        return self.question


class Open311Key(models.Model):
    """An API key for Open311 GeoReport v2 clients. Only a keyed hash is stored; the key is
    shown once when created (`onecity open311 key create`)."""

    public_id = models.CharField(max_length=26, unique=True, default=new_public_id, editable=False)
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=8)  # first characters, to recognise a key in lists
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("Open311 API key")
        verbose_name_plural = _("Open311 API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ClassifierVersion(models.Model):
    """A trained dispatch classifier: which data it learned from, how it scored, where its file
    is. Exactly one version is active; retraining adds a version and activates it."""

    version = models.CharField(max_length=40, unique=True)
    file = models.CharField(max_length=200)  # path under VAR_DIR
    source = models.CharField(max_length=20)  # "history", "csv", "demo"
    n_train = models.PositiveIntegerField()
    labels = models.JSONField(default=list)
    metrics = models.JSONField(default=dict, blank=True)
    trained_at = models.DateTimeField()
    is_active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-trained_at"]
        constraints = [models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True),
                                               name="hotline_one_active_classifier")]

    def __str__(self) -> str:
        return f"{self.version} ({self.n_train})"
