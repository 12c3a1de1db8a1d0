"""The WSGI entry point of the internet-zone intake gateway:
``gunicorn -c gunicorn.conf.py gateway_wsgi:app`` (no core database: leave DATABASE_URL out
of its environment; GATEWAY_DATABASE_URL, AMQP_URL and AMQP_PREFIX are what it reads)."""

from app.gateway.web import create_gateway_app

app = create_gateway_app()
