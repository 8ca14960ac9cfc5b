"""福码 unified payments: bills, payment codes, channels, refunds, reconciliation and clearing."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _finance_badge(counter: str):
    """A sidebar badge for the platform's finance staff only: what `payments.clearing.<counter>()`
    counts as awaiting them."""

    def badge(request) -> int:
        from onecity.payments import clearing
        from onecity.payments.access import is_platform_finance

        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not is_platform_finance(user):
            return 0
        return getattr(clearing, counter)()

    return badge


def _cashier_badge(request) -> int:
    """The refunds a payee cashier's colleague asked for, awaiting their approval."""
    from onecity.payments.selectors import refunds_awaiting_count

    user = getattr(request, "user", None)
    return refunds_awaiting_count(actor=user) if user is not None and user.is_authenticated else 0


class PaymentsConfig(AppConfig):
    name = "onecity.payments"
    label = "payments"
    verbose_name = _("福码 payments")

    def ready(self):
        from onecity.core.navigation import nav_register

        nav_register(area="resident", key="bills", label=_("Bills"), url_name="payments:bills", icon="receipt",
                     order=30)
        nav_register(area="staff", key="payments_console", label=_("Payee console"), url_name="payments:console",
                     icon="cash", order=50, roles=("payee_cashier",))
        nav_register(area="staff", key="payments_refunds", label=_("Refunds"), url_name="payments:console_refunds",
                     icon="receipt-refund", order=50, roles=("payee_cashier",), badge=_cashier_badge,
                     badge_label=_("refunds to approve"))
        nav_register(area="staff", key="payments_settlements", label=_("Settlements"), url_name="payments:settlements",
                     icon="building-bank", order=51, roles=("payee_cashier", "finance", "administrator", "auditor"),
                     badge=_finance_badge("payees_owing_count"), badge_label=_("payees owing"))
        nav_register(area="staff", key="payments_reconciliation", label=_("Reconciliation"),
                     url_name="payments:clearing_reconciliation", icon="scale", order=52,
                     roles=("finance", "administrator", "auditor"), badge=_finance_badge("breaks_unresolved_count"),
                     badge_label=_("breaks to work"))
        nav_register(area="staff", key="payments_refunds_processing", label=_("Refunds in progress"),
                     url_name="payments:clearing_refunds", icon="receipt-refund", order=53,
                     roles=("finance", "administrator", "auditor"), badge=_finance_badge("refunds_due_count"),
                     badge_label=_("refunds to settle by hand"))

    def warm_up(self):
        """Web workers only (onecity.core.callbacks.warm_up): load each configured channel's
        keys and certificates before the first notification, not during it."""
        from onecity.core.errors import ApplicationError
        from onecity.payments.enums import Channel
        from onecity.payments.gateways import channel_client

        for channel in Channel.values:
            try:
                channel_client(channel).verifier()
            except ApplicationError:  # not configured on this server
                continue
