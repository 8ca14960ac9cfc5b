"""Writes on accounts: citizen registration, real-name verification, password change and reset,
staff accounts and their roles.

Every write runs in one transaction with its audit row; on any error nothing changes.
Checks that must leave a trace even when the request fails (one-time code attempts, rate
limits) run before the transaction, so a rollback cannot undo them.
"""

from __future__ import annotations

import re

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from onecity.core.audit import audit_record
from onecity.core.crypto import lookup_hash
from onecity.core.errors import ApplicationError, PermissionDenied
from onecity.core.ids import new_public_id
from onecity.core.ratelimit import ratelimit_hit
from onecity.core.validators import normalise_phone, parse_resident_id, validate_phone
from onecity.identity.access import has_role
from onecity.identity.enums import OtpPurpose, Role, UserKind
from onecity.identity.models import Organization, RealNameIdentity, StaffRole, User
from onecity.identity.registry import (
    REASON_DECEASED,
    REASON_NAME_MISMATCH,
    get_registry,
    normalise_legal_name,
)
from onecity.identity.services.otp import otp_verify

DISPLAY_NAME_MAX = 40
LEGAL_NAME_MAX = 40
USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{2,63}$")
CITIZEN_USERNAME_PREFIX = "c-"


# --- helpers -----------------------------------------------------------------------------------
def _phone_clean(phone: str) -> str:
    try:
        validate_phone(phone)
    except ValidationError as exc:
        raise ApplicationError(exc.messages[0], code="phone_format", field="phone") from None
    return normalise_phone(phone)


def _display_name_clean(display_name: str, *, required: bool) -> str:
    value = " ".join((display_name or "").split())
    if required and not value:
        raise ApplicationError(_("Please enter the name we should call you."), code="display_name_required",
                               field="display_name")
    if len(value) > DISPLAY_NAME_MAX:
        raise ApplicationError(
            _("The display name can have at most %(max)d characters.") % {"max": DISPLAY_NAME_MAX},
            code="display_name_length", field="display_name")
    return value


def _password_check(password: str, *, user: User, field: str = "password") -> None:
    if not password:
        raise ApplicationError(_("Please enter a password."), code="password_required", field=field)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        messages = []
        for error in exc.error_list:
            if error.code == "password_too_short":
                # Django's own catalogs lag behind this message's current wording.
                messages.append(_("This password is too short. It must have at least %(min)d characters.")
                                % {"min": (error.params or {}).get("min_length", 8)})
            else:
                messages.extend(error.messages)
        raise ApplicationError(" ".join(messages), code="password_weak", field=field) from None


def _roles_clean(roles) -> list[str]:
    cleaned = []
    for role in roles or []:
        role = str(role)
        if role not in Role.values:
            raise ApplicationError(_("Unknown role: %(role)s.") % {"role": role}, code="role_unknown", field="roles")
        if role not in cleaned:
            cleaned.append(role)
    if not cleaned:
        raise ApplicationError(_("Please choose at least one role."), code="roles_required", field="roles")
    return sorted(cleaned)


def _require_administrator(actor) -> None:
    if not has_role(actor, Role.ADMINISTRATOR):
        raise PermissionDenied(_("Only administrators can manage staff accounts."))


# --- citizens ----------------------------------------------------------------------------------
def citizen_register(*, phone: str, password: str, display_name: str, code: str, ip: str | None = None) -> User:
    """Create a citizen account for the holder of `phone`, proven by a registration code.

    The number is checked for an existing account only after the code proves the caller holds
    it, so the form cannot be used to find out who has an account."""
    phone = _phone_clean(phone)
    display_name = _display_name_clean(display_name, required=True)
    public_id = new_public_id()
    candidate = User(public_id=public_id, username=CITIZEN_USERNAME_PREFIX + public_id, display_name=display_name,
                     kind=UserKind.CITIZEN)
    _password_check(password, user=candidate)
    # Outside the transaction: a wrong code must count as an attempt even though we fail.
    otp_verify(phone=phone, purpose=OtpPurpose.REGISTER, code=code, ip=ip)
    return _citizen_create(candidate=candidate, phone=phone, password=password, ip=ip)


@transaction.atomic
def _citizen_create(*, candidate: User, phone: str, password: str, ip: str | None) -> User:
    phone_hash = lookup_hash(phone, purpose="phone")
    taken = ApplicationError(_("This mobile number already has an account. Please sign in instead."),
                             code="phone_taken", field="phone")
    if User.objects.filter(phone_hash=phone_hash).exists():
        raise taken
    candidate.phone = phone
    candidate.phone_hash = phone_hash
    candidate.set_password(password)
    try:
        with transaction.atomic():
            candidate.save()
    except IntegrityError:  # a parallel registration of the same number won
        raise taken from None
    audit_record(actor=candidate, action="account.register", subject_user=candidate, object_type="user",
                 object_id=candidate.public_id, ip=ip)
    return candidate


def realname_verify(*, user: User, legal_name: str, id_number: str, ip: str | None = None) -> RealNameIdentity:
    """Bind a verified legal identity to a citizen account after the population registry
    confirms the name belongs to the ID number. One ID number, one account."""
    if user is None or not user.is_authenticated or user.kind != UserKind.CITIZEN:
        raise PermissionDenied(_("Only citizen accounts can be verified with a real name."))
    legal_name = normalise_legal_name(legal_name)
    if not legal_name:
        raise ApplicationError(_("Please enter your legal name as on your ID card."), code="legal_name_required",
                               field="legal_name")
    if len(legal_name) > LEGAL_NAME_MAX:
        raise ApplicationError(_("The legal name can have at most %(max)d characters.") % {"max": LEGAL_NAME_MAX},
                               code="legal_name_length", field="legal_name")
    try:
        info = parse_resident_id(id_number)
    except ValidationError as exc:
        raise ApplicationError(exc.messages[0], code=exc.code or "id_invalid", field="id_number") from None
    if RealNameIdentity.objects.filter(user=user).exists():
        raise ApplicationError(_("Your account is already verified with a real name."), code="realname_exists")
    # Outside the transaction so that failed attempts keep counting (guessing names is costly).
    ratelimit_hit("realname", user.public_id)
    id_hash = lookup_hash(info.number, purpose="id_number")
    if RealNameIdentity.objects.filter(id_number_hash=id_hash).exclude(user=user).exists():
        raise ApplicationError(
            _("This ID number is already linked to another account. If that is not you, please call 12345."),
            code="id_taken", field="id_number")
    registry = get_registry()
    result = registry.match(legal_name=legal_name, id_number=info.number)
    if not result.matched:
        if result.reason == REASON_DECEASED:
            message = _("The population registry cannot confirm this identity. Please visit a service hall.")
        elif result.reason == REASON_NAME_MISMATCH:
            message = _("The name does not match the ID number in the population registry. "
                        "Please check both and try again.")
        else:
            message = _("The population registry has no resident with this ID number. Please check the number.")
        raise ApplicationError(message, code=f"registry_{result.reason or 'refused'}")
    return _realname_bind(user=user, legal_name=legal_name, number=info.number, id_hash=id_hash,
                          registry_name=getattr(registry, "name", type(registry).__name__), ip=ip)


@transaction.atomic
def _realname_bind(*, user: User, legal_name: str, number: str, id_hash: str, registry_name: str,
                   ip: str | None) -> RealNameIdentity:
    try:
        with transaction.atomic():
            identity = RealNameIdentity.objects.create(
                user=user, legal_name=legal_name, id_number=number, id_number_hash=id_hash,
                registry=registry_name[:64], verified_at=timezone.now(),
            )
    except IntegrityError:  # a parallel verification bound the same number or account first
        raise ApplicationError(
            _("This ID number is already linked to another account. If that is not you, please call 12345."),
            code="id_taken", field="id_number") from None
    audit_record(actor=user, action="account.realname_verify", subject_user=user, object_type="user",
                 object_id=user.public_id, ip=ip, detail={"registry": registry_name})
    return identity


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str, ip: str | None = None) -> User:
    """Change one's own password; the current password proves it is the account holder."""
    if user is None or not user.is_authenticated:
        raise PermissionDenied()
    if not old_password or not user.check_password(old_password):
        raise ApplicationError(_("Your current password is wrong."), code="password_wrong", field="old_password")
    if old_password == new_password:
        raise ApplicationError(_("The new password must differ from the current one."), code="password_same",
                               field="new_password")
    _password_check(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    audit_record(actor=user, action="account.password_change", subject_user=user, object_type="user",
                 object_id=user.public_id, ip=ip)
    return user


def password_reset(*, phone: str, code: str, new_password: str, ip: str | None = None) -> User:
    """Set a new password for the account of `phone`, proven by a reset code sent to it.

    Like registration, whether the number has an account is told only after the code proves
    the caller holds the number. A reset also lifts a sign-in lockout of that account, and the
    new password hash ends every other session (Django's session auth hash)."""
    phone = _phone_clean(phone)
    user = User.objects.filter(phone_hash=lookup_hash(phone, purpose="phone"), is_active=True).first()
    _password_check(new_password, user=user or User(kind=UserKind.CITIZEN), field="new_password")
    # Outside the transaction: a wrong code must count as an attempt even though we fail.
    otp_verify(phone=phone, purpose=OtpPurpose.RESET, code=code, ip=ip)
    if user is None:
        raise ApplicationError(_("No account uses this mobile number. Please register first."),
                               code="account_missing", field="phone")
    return _password_set(user=user, password=new_password, ip=ip)


@transaction.atomic
def _password_set(*, user: User, password: str, ip: str | None) -> User:
    from axes.utils import reset as axes_reset

    user.set_password(password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    axes_reset(username=user.username)
    axes_reset(username=user.phone)
    audit_record(actor=user, action="account.password_reset", subject_user=user, object_type="user",
                 object_id=user.public_id, ip=ip)
    return user


# --- staff -------------------------------------------------------------------------------------
def staff_username_clean(username: str) -> str:
    """A staff user name, lower-cased, or ApplicationError (forms call this to show the rule early)."""
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username) or username.startswith(CITIZEN_USERNAME_PREFIX):
        raise ApplicationError(
            _("A user name has 3 to 64 characters: lower-case letters, digits, dots, dashes and underscores, "
              "starting with a letter (not \"c-\")."), code="username_format", field="username")
    return username


@transaction.atomic
def staff_create(*, actor, username: str, password: str, display_name: str, organization: Organization,
                 roles: list[str], ip: str | None = None) -> User:
    """Create a staff account in `organization` holding `roles`. Only administrators may do
    this; `actor=None` is the system itself (seeding, the first administrator).
    Django's admin-site flag (`is_staff`) is set exactly when the roles include administrator."""
    if actor is not None:
        _require_administrator(actor)
    username = staff_username_clean(username)
    if User.objects.filter(username=username).exists():
        raise ApplicationError(_("This user name is already taken."), code="username_taken", field="username")
    if organization is None or not isinstance(organization, Organization) or organization.pk is None:
        raise ApplicationError(_("Please choose the staff member's organization."), code="organization_required",
                               field="organization")
    if not organization.is_active:
        raise ApplicationError(_("This organization is no longer active."), code="organization_inactive",
                               field="organization")
    display_name = _display_name_clean(display_name, required=True)
    roles = _roles_clean(roles)
    # A password an administrator chose is temporary: its holder must replace it at first sign-in.
    user = User(username=username, display_name=display_name, kind=UserKind.STAFF, organization=organization,
                is_staff=Role.ADMINISTRATOR in roles, must_change_password=actor is not None)
    _password_check(password, user=user)
    user.set_password(password)
    user.save()
    StaffRole.objects.bulk_create([StaffRole(user=user, role=role, granted_by=actor) for role in roles])
    audit_record(actor=actor, action="staff.create", subject_user=user, object_type="user",
                 object_id=user.public_id, ip=ip,
                 detail={"username": username, "organization": organization.public_id, "roles": roles})
    return user


@transaction.atomic
def staff_roles_set(*, actor, user: User, roles: list[str], ip: str | None = None) -> User:
    """Replace a staff member's roles, keeping the admin-site flag in step with the
    administrator role. Administrators cannot remove their own administrator role."""
    if actor is not None:
        _require_administrator(actor)
    if user is None or user.kind != UserKind.STAFF:
        raise ApplicationError(_("Roles can only be given to staff accounts."), code="not_staff")
    roles = _roles_clean(roles)
    if actor is not None and actor.pk == user.pk and Role.ADMINISTRATOR not in roles:
        raise ApplicationError(_("You cannot remove your own administrator role."), code="self_demote",
                               field="roles")
    if actor is not None and Role.ADMINISTRATOR not in roles:
        _administrators_lock_and_keep_one(actor=actor, losing=user)
    current = set(StaffRole.objects.filter(user=user).values_list("role", flat=True))
    added = sorted(set(roles) - current)
    removed = sorted(current - set(roles))
    StaffRole.objects.filter(user=user, role__in=removed).delete()
    StaffRole.objects.bulk_create([StaffRole(user=user, role=role, granted_by=actor) for role in added])
    is_admin = Role.ADMINISTRATOR in roles
    if user.is_staff != is_admin:
        user.is_staff = is_admin
        user.save(update_fields=["is_staff"])
    audit_record(actor=actor, action="staff.roles_set", subject_user=user, object_type="user",
                 object_id=user.public_id, ip=ip, detail={"added": added, "removed": removed, "roles": roles})
    return user


def _administrators_lock_and_keep_one(*, actor, losing: User) -> None:
    """Inside the caller's transaction, before `losing` stops being an active administrator:
    lock the active administrators (in one order, so that two administrators acting on each
    other at the same moment queue up) and check that `actor` is still one of them.

    Together with "not oneself" this keeps at least one active administrator: the actor stays.
    Without the lock, two administrators removing each other at once would both succeed and
    leave none. The command line (`actor=None`) is not held to this: whoever runs it on the
    server can always create another administrator (it warns when none is left)."""
    active = set(User.objects.select_for_update().filter(
        kind=UserKind.STAFF, is_active=True, roles__role=Role.ADMINISTRATOR,
    ).order_by("pk").values_list("pk", flat=True))
    if actor.pk not in active:
        raise PermissionDenied(_("Only administrators can manage staff accounts."))
    if losing.pk in active and not active - {losing.pk}:  # only reachable if the actor is `losing`
        raise ApplicationError(_("OneCity needs at least one active administrator; this is the last one."),
                               code="last_administrator")


def _staff_member_check(user: User) -> None:
    if user is None or user.kind != UserKind.STAFF or user.pk is None:
        raise ApplicationError(_("Only staff accounts can be managed here."), code="not_staff")


@transaction.atomic
def staff_deactivate(*, actor, user: User, ip: str | None = None) -> User:
    """Switch a staff account off: it can no longer sign in, and its open sessions end at
    their next request (inactive users are not loaded from sessions). Roles are kept, so
    reactivating restores the account as it was. Administrators cannot switch themselves off,
    nor the last active administrator."""
    if actor is not None:
        _require_administrator(actor)
    _staff_member_check(user)
    if actor is not None and actor.pk == user.pk:
        raise ApplicationError(_("You cannot deactivate your own account."), code="self_deactivate")
    if actor is not None:
        _administrators_lock_and_keep_one(actor=actor, losing=user)
    updated = User.objects.filter(pk=user.pk, kind=UserKind.STAFF, is_active=True).update(is_active=False)
    if not updated:
        raise ApplicationError(_("This account is already deactivated."), code="already_inactive")
    user.is_active = False
    audit_record(actor=actor, action="staff.deactivate", subject_user=user, object_type="user",
                 object_id=user.public_id, ip=ip, detail={"username": user.username})
    return user


@transaction.atomic
def staff_reactivate(*, actor, user: User, ip: str | None = None) -> User:
    """Let a deactivated staff account sign in again, with the roles it had. Refused while the
    account's organization is no longer active."""
    if actor is not None:
        _require_administrator(actor)
    _staff_member_check(user)
    if user.organization_id and not Organization.objects.filter(pk=user.organization_id, is_active=True).exists():
        raise ApplicationError(_("This account's organization is no longer active."), code="organization_inactive")
    updated = User.objects.filter(pk=user.pk, kind=UserKind.STAFF, is_active=False).update(is_active=True)
    if not updated:
        raise ApplicationError(_("This account is already active."), code="already_active")
    user.is_active = True
    audit_record(actor=actor, action="staff.reactivate", subject_user=user, object_type="user",
                 object_id=user.public_id, ip=ip, detail={"username": user.username})
    return user


@transaction.atomic
def staff_password_set(*, actor, user: User, password: str, ip: str | None = None) -> User:
    """An administrator gives a staff member a temporary password (forgotten password, new
    device). It ends the member's other sessions (Django's session auth hash) and lifts a
    sign-in lockout. Administrators change their own password on the account page, where the
    current one is asked for."""
    from axes.utils import reset as axes_reset

    if actor is not None:
        _require_administrator(actor)
    _staff_member_check(user)
    if actor is not None and actor.pk == user.pk:
        raise ApplicationError(_("Change your own password on your account page."), code="self_password")
    _password_check(password, user=user)
    user.set_password(password)
    user.must_change_password = actor is not None  # temporary: replaced at the next sign-in
    user.save(update_fields=["password", "must_change_password"])
    axes_reset(username=user.username)
    audit_record(actor=actor, action="staff.password_set", subject_user=user, object_type="user",
                 object_id=user.public_id, ip=ip, detail={"username": user.username})
    return user
