"""Writes of the payments app, one module per topic: bills (issue, cancel, overdue), imports
(CSV/XLSX, all or nothing), codes (福码 issue, verify, QR) and attempts (create, submit,
succeed, fail, cancel, expire)."""
