"""Read models rebuilt by idempotent jobs, and the dashboards that read them."""
