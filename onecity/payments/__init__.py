"""福码 unified payments: bills, payment codes, channels, refunds, reconciliation and clearing."""
