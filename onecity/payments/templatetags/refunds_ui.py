"""A refund's state as a plain sentence, for the payee console and the resident's bill page."""

from django import template
from django.utils.translation import gettext as _

from onecity.core.templatetags.ui import yuan
from onecity.payments.enums import Channel

register = template.Library()


@register.filter
def refund_sentence(refund) -> str:
    """What happened to a refund, for the payee's staff."""
    values = {"amount": yuan(refund.amount_fen), "channel": Channel(refund.attempt.channel).label,
              "name": str(refund.approved_by or ""), "note": refund.decision_note,
              "code": refund.failure_code}
    if refund.state == "requested":
        return _("%(amount)s asked for; waiting for another cashier of your unit to approve it.") % values
    if refund.state == "approved":
        return _("%(amount)s approved by %(name)s; being sent back through %(channel)s.") % values
    if refund.state == "processing":
        return _("%(amount)s accepted by %(channel)s, which reports the result later; until then the amount "
                 "cannot be asked back again.") % values
    if refund.state == "rejected":
        return _("Rejected by %(name)s: %(note)s") % values
    if refund.state == "succeeded":
        return _("%(amount)s refunded to the payer through %(channel)s, the way it was paid.") % values
    return _("%(channel)s did not refund it (%(code)s). Nothing else changed; ask again if needed.") % values


@register.filter
def refund_sentence_for_payer(refund) -> str:
    """The same, for the resident: only what reaches them."""
    values = {"amount": yuan(refund.amount_fen), "channel": Channel(refund.attempt.channel).label}
    if refund.state == "succeeded":
        return _("Refunded %(amount)s, back to %(channel)s the way it was paid.") % values
    if refund.state == "processing":
        return _("A refund of %(amount)s is being processed by %(channel)s; you will get a message when it "
                 "arrives.") % values
    return _("A refund of %(amount)s is being processed.") % values
