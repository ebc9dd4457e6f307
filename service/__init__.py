"""labelaudit's HTTP service: uploads, audits, reviews and exports over a database.

It never imports torch, so never :mod:`worker`: audits run on Celery workers, which this
package reaches only through :mod:`service.queue` by task name. Datasets are read and
checked by :mod:`formats`, the torch-free package the engine loads through too.
"""
