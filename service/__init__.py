"""labelaudit's HTTP service: uploads, audits, reviews and exports over a database.

It never imports :mod:`worker` (and so never torch): audits run on Celery workers, which
this package reaches only through :mod:`service.queue` by task name.
"""
