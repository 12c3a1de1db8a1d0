"""Extension singletons, attached to the application in ``create_app`` with ``init_app``."""

from flask_appbuilder import AppBuilder
from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate

db = SQLA()
appbuilder = AppBuilder(update_perms=False)
migrate = Migrate()
from flask_wtf.csrf import CSRFProtect  # noqa: E402

csrf = CSRFProtect()
