"""Celery app: workers and beat load Django settings from here."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("shareledger")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
