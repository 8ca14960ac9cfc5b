"""Account pages: resident home, sign-in (password, then optionally an SMS code), step-up,
sign-out, registration, the account page, real-name verification and password change.

Views are thin: they parse forms, call one service and render. Rules live in
`services/accounts.py`; lockout after repeated failures is django-axes, which counts every
failed `authenticate()` call.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from onecity.core.audit import client_ip
from onecity.core.errors import ApplicationError, RateLimited
from onecity.core.masking import mask_phone
from onecity.core.ratelimit import ratelimit_hit
from onecity.core.validators import normalise_phone
from onecity.identity.access import citizen_required, is_staff_member
from onecity.identity.enums import AssuranceLevel, OtpPurpose
from onecity.identity.forms import (
    CodeForm,
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    PhoneForm,
    RealNameForm,
    RegisterForm,
    form_submit,
)
from onecity.identity.selectors.accounts import account_summary_for_user
from onecity.identity.services.accounts import citizen_register, password_change, realname_verify
from onecity.identity.services.accounts import password_reset as password_reset_service
from onecity.identity.services.otp import otp_send, otp_verify


# --- helpers -----------------------------------------------------------------------------------
def safe_next(request, default: str = "identity:home") -> str:
    """The `next` parameter if it is a local URL, otherwise the default page."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(default)


def _with_next(url_name: str, next_url: str) -> str:
    return reverse(url_name) + "?" + urlencode({"next": next_url})


def mark_authenticated(request, level: str) -> None:
    """Record the assurance level and the time of the check in the session (read by OIDC)."""
    request.session["acr"] = str(level)
    request.session["auth_time"] = int(time.time())


def login_username(raw: str) -> str:
    """Citizens may type their number with spaces, dashes or +86; axes and the backend see one
    canonical form so that failures are counted per account."""
    raw = (raw or "").strip()
    phone = normalise_phone(raw)
    if len(phone) == 11 and all(c.isdigit() or c in " +-()" for c in raw):
        return phone
    return raw.lower()


def _cooloff_minutes() -> int:
    cool_off = settings.AXES_COOLOFF_TIME
    return max(int(round(float(cool_off) * 60)), 1) if isinstance(cool_off, (int, float)) else 15


# --- resident home -----------------------------------------------------------------------------
def home(request):
    context = {"summary": None, "is_staff_member": False}
    if request.user.is_authenticated:
        context["summary"] = account_summary_for_user(user=request.user)
        context["is_staff_member"] = is_staff_member(request.user)
    return render(request, "resident/home.html", context)


# --- sign-in -----------------------------------------------------------------------------------
def _login_page(request, form, *, status: int = 200, error: str = ""):
    return render(request, "identity/login.html",
                  {"form": form, "next": safe_next(request), "error": error}, status=status)


@require_http_methods(["GET", "POST"])
def login_view(request):
    if request.method == "GET":
        return _login_page(request, LoginForm())
    form = LoginForm(request.POST)
    try:
        ratelimit_hit("login", client_ip(request) or "unknown")
    except RateLimited as exc:
        return _login_page(request, form, status=429, error=str(exc))
    if not form.is_valid():
        return _login_page(request, form, status=400)
    user = authenticate(request=request, username=login_username(form.cleaned_data["username"]),
                        password=form.cleaned_data["password"])
    if getattr(request, "axes_locked_out", False):
        return lockout_response(request)
    if user is None:
        form.add_error(None, _("The mobile number, user name or password is wrong."))
        return _login_page(request, form, status=400)
    login(request, user)
    mark_authenticated(request, AssuranceLevel.L1)
    next_url = safe_next(request, default="identity:staff_home" if is_staff_member(user) else "identity:home")
    if form.cleaned_data.get("with_code"):
        return redirect(_with_next("identity:step_up", next_url))
    return redirect(next_url)


def lockout_response(request, original_response=None, credentials=None):
    """django-axes calls this when an account (or this device) is locked after repeated
    failures: the sign-in page with a clear message, HTTP 429."""
    message = _("Too many failed sign-in attempts. For your safety, sign-in is locked for %(minutes)d minutes. "
                "Please try again later.") % {"minutes": _cooloff_minutes()}
    form = LoginForm(initial={"username": request.POST.get("username", "")[:64]})
    return _login_page(request, form, status=429, error=message)


@login_required
@require_http_methods(["GET", "POST"])
def step_up(request):
    """Raise the session to L2: an SMS code sent to the signed-in person's own number."""
    user = request.user
    next_url = safe_next(request, default="identity:account")
    phone = user.phone
    form = CodeForm()
    notice = ""
    status = 200
    if request.method == "POST" and phone:
        if request.POST.get("action") == "send":
            try:
                otp_send(phone=phone, purpose=OtpPurpose.STEP_UP, ip=client_ip(request), recipient=user)
                notice = _("We sent a verification code to %(phone)s.") % {"phone": mask_phone(phone)}
            except ApplicationError as exc:
                form.add_error(None, str(exc.message))
                status = exc.status
        else:
            form = CodeForm(request.POST)
            _done, status = form_submit(form, lambda data: otp_verify(
                phone=phone, purpose=OtpPurpose.STEP_UP, code=data["code"], ip=client_ip(request)))
            if status == 200:
                mark_authenticated(request, AssuranceLevel.L2)
                return redirect(next_url)
    return render(request, "identity/step_up.html", {
        "form": form, "next": next_url, "phone_masked": mask_phone(phone), "has_phone": bool(phone),
        "notice": notice, "is_l2": request.session.get("acr") == AssuranceLevel.L2,
    }, status=status)


@require_http_methods(["GET", "POST"])
def logout_view(request):
    """Sign out. GET asks for confirmation; only POST signs out."""
    if request.method == "POST":
        logout(request)
        messages.success(request, _("You have signed out."))
        return redirect("identity:home")
    if not request.user.is_authenticated:
        return redirect("identity:home")
    return render(request, "identity/logout.html")


# --- registration ------------------------------------------------------------------------------
def _send_code(request, phone_value: str, purpose: str) -> tuple[bool, str]:
    form = PhoneForm({"phone": phone_value})
    if not form.is_valid():
        return False, " ".join(form.errors.get("phone", []))
    try:
        otp_send(phone=form.cleaned_data["phone"], purpose=purpose, ip=client_ip(request))
    except ApplicationError as exc:
        return False, str(exc.message)
    return True, _("We sent a verification code to %(phone)s. It is valid for %(minutes)d minutes.") % {
        "phone": mask_phone(normalise_phone(form.cleaned_data["phone"])),
        "minutes": settings.OTP_TTL_SECONDS // 60,
    }


def _code_outcome(request, purpose: str) -> tuple[str, str, int]:
    """A page's "send code" button without JavaScript: (notice, error, status)."""
    ok, text = _send_code(request, request.POST.get("phone", ""), purpose)
    return (text, "", 200) if ok else ("", text, 400)


@require_http_methods(["GET", "POST"])
def register(request):
    if request.user.is_authenticated:
        return redirect("identity:account")
    form = RegisterForm()
    code_notice, code_error, status = "", "", 200
    if request.method == "POST":
        if request.POST.get("action") == "send_code":
            form = RegisterForm(initial={k: request.POST.get(k, "") for k in ("phone", "display_name")})
            code_notice, code_error, status = _code_outcome(request, OtpPurpose.REGISTER)
        else:
            form = RegisterForm(request.POST)
            user, status = form_submit(form, lambda data: citizen_register(
                phone=data["phone"], password=data["password"], display_name=data["display_name"],
                code=data["code"], ip=client_ip(request)))
            if status == 200:
                login(request, user, backend="onecity.identity.backends.PhoneOrUsernameBackend")
                mark_authenticated(request, AssuranceLevel.L1)
                messages.success(request, _("Welcome to OneCity! Your account is ready."))
                return redirect("identity:realname")
    return render(request, "identity/register.html",
                  {"form": form, "code_notice": code_notice, "code_error": code_error}, status=status)


def _code_status(request, purpose: str):
    ok, text = _send_code(request, request.POST.get("phone", ""), purpose)
    # Always 200: htmx swaps only successful answers, and the fragment carries the error itself.
    return render(request, "identity/_code_status.html", {"ok": ok, "text": text})


@require_POST
def register_send_code(request):
    """htmx: send a registration code and answer with a one-line status fragment."""
    return _code_status(request, OtpPurpose.REGISTER)


# --- forgotten password ------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def password_reset(request):
    form = PasswordResetForm()
    code_notice, code_error, status = "", "", 200
    if request.method == "POST":
        if request.POST.get("action") == "send_code":
            form = PasswordResetForm(initial={"phone": request.POST.get("phone", "")})
            code_notice, code_error, status = _code_outcome(request, OtpPurpose.RESET)
        else:
            form = PasswordResetForm(request.POST)
            _done, status = form_submit(form, lambda data: password_reset_service(
                phone=data["phone"], code=data["code"], new_password=data["new_password"], ip=client_ip(request)))
            if status == 200:
                if request.user.is_authenticated:
                    logout(request)
                messages.success(request, _("Your password has been reset. Please sign in with the new one."))
                return redirect("identity:login")
    return render(request, "identity/password_reset.html",
                  {"form": form, "code_notice": code_notice, "code_error": code_error}, status=status)


@require_POST
def password_reset_send_code(request):
    """htmx: send a password-reset code and answer with a one-line status fragment."""
    return _code_status(request, OtpPurpose.RESET)


# --- account -----------------------------------------------------------------------------------
@login_required
def account(request):
    return render(request, "identity/account.html", {
        "summary": account_summary_for_user(user=request.user),
        "is_staff_member": is_staff_member(request.user),
        "acr": request.session.get("acr", ""),
        "is_l2": request.session.get("acr") == AssuranceLevel.L2,
    })


@citizen_required
@require_http_methods(["GET", "POST"])
def realname(request):
    summary = account_summary_for_user(user=request.user)
    form = RealNameForm()
    status = 200
    if request.method == "POST" and not summary.is_verified:
        form = RealNameForm(request.POST)
        _done, status = form_submit(form, lambda data: realname_verify(
            user=request.user, legal_name=data["legal_name"], id_number=data["id_number"], ip=client_ip(request)))
        if status == 200:
            messages.success(request, _("Your real name is verified."))
            return redirect("identity:account")
    return render(request, "identity/realname.html", {"form": form, "summary": summary}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def password_change_view(request):
    form = PasswordChangeForm()
    status = 200
    required = request.user.must_change_password
    if request.method == "POST":
        form = PasswordChangeForm(request.POST)
        _done, status = form_submit(form, lambda data: password_change(
            user=request.user, old_password=data["old_password"], new_password=data["new_password"],
            ip=client_ip(request)))
        if status == 200:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("Your password is changed."))
            return redirect(safe_next(request, default="identity:account") if required
                            else reverse("identity:account"))
    return render(request, "identity/password_change.html",
                  {"form": form, "required": required, "next": request.GET.get("next", "")}, status=status)
