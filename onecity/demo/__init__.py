"""The demo city: Fuzhou's departments, districts, payee units, residents, citizens, staff
and partner apps, loaded by `onecity seed --demo`, and the `demo` and `serve` commands.

This package is not a domain app: it sits above all of them and may call every app's
services. Nothing in a domain app imports it.
"""
