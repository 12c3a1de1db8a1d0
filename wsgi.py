"""The WSGI entry point of a production server: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Unlike ``run.py`` it neither migrates, nor seeds, nor starts the scheduler: migrations run
once per upgrade (``flask --app app db upgrade heads``) and the scheduler is its own process
(``flask --app app gridcare scheduler``).
"""

from app import create_app

app = create_app()
