"""Double-entry ledger: accounts and immutable transfers, the only writer of money."""
