"""The worker's Celery app: the shared configuration of :mod:`service.queue`, plus the tasks."""

from __future__ import annotations

from service.config import get_settings
from service.queue import create_celery

app = create_celery(get_settings())
# Imported by the worker at start-up, not here: the API side never loads torch.
app.conf.include = ["worker.tasks"]
