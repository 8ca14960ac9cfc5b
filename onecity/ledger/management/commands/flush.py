"""Django's `flush`, with the one permission it needs on SQLite: emptying the whole database
also empties the append-only ledger (on PostgreSQL flush truncates, which no row trigger sees).
Test runs flush after every transactional test."""

from django.core.management.commands.flush import Command as FlushCommand

from onecity.ledger.apps import set_erase_permitted


class Command(FlushCommand):
    def handle(self, **options):
        set_erase_permitted(True)
        try:
            return super().handle(**options)
        finally:
            set_erase_permitted(False)
