"""福码 unified payments: bills, payment codes, channels, refunds, reconciliation and clearing."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "onecity.payments"
    label = "payments"
    verbose_name = _("福码 payments")

    def ready(self):
        from onecity.core.navigation import count_of, nav_register
        from onecity.payments.access import FINANCE_ROLES

        nav_register(area="resident", key="bills", label=_("Bills"), url_name="payments:bills", icon="receipt",
                     order=30)
        nav_register(area="staff", key="payments_console", label=_("Payee console"), url_name="payments:console",
                     icon="cash", order=50, roles=("payee_cashier",))
        nav_register(area="staff", key="payments_refunds", label=_("Refunds"), url_name="payments:console_refunds",
                     icon="receipt-refund", order=50, roles=("payee_cashier",),
                     badge=count_of("onecity.payments.selectors.refunds_awaiting_count"),
                     badge_label=_("refunds to approve"))
        nav_register(area="staff", key="payments_settlements", label=_("Settlements"), url_name="payments:settlements",
                     icon="building-bank", order=51, roles=("payee_cashier", "finance", "administrator", "auditor"),
                     badge=count_of("onecity.payments.clearing.payees_owing_count"), badge_label=_("payees owing"),
                     badge_roles=FINANCE_ROLES)
        nav_register(area="staff", key="payments_reconciliation", label=_("Reconciliation"),
                     url_name="payments:clearing_reconciliation", icon="scale", order=52,
                     roles=("finance", "administrator", "auditor"),
                     badge=count_of("onecity.payments.clearing.breaks_unresolved_count"), badge_label=_("breaks to work"),
                     badge_roles=FINANCE_ROLES)
        nav_register(area="staff", key="payments_refunds_processing", label=_("Refunds in progress"),
                     url_name="payments:clearing_refunds", icon="receipt-refund", order=53,
                     roles=("finance", "administrator", "auditor"),
                     badge=count_of("onecity.payments.clearing.refunds_due_count"), badge_label=_("refunds to settle by hand"),
                     badge_roles=FINANCE_ROLES)

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
