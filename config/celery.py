"""Celery app: workers and beat load Django settings from here."""
import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("shareledger")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_django_logging(**kwargs) -> None:
    """Workers log through Django's LOGGING, like web processes. Celery's own set-up would replace the root
    handlers (and give task loggers a handler of their own), dropping the filter that masks secrets. So LOG_LEVEL,
    not --loglevel, sets a worker's level."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
