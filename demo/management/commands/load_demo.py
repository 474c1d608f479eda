from django.core.management.base import BaseCommand

from demo.loader import load


class Command(BaseCommand):
    help = "Load the demo data (idempotent): users, instruments, tokens on anvil, partners, requests, custody."

    def handle(self, *args, **options):
        load(self.stdout.write)
        self.stdout.write("demo data loaded")
