"""Pages of the payments app: the resident portal (resident.py), the 福码 code URL (codes.py)
and the payee console (console.py). Thin: parse, call a service or selector, render."""
