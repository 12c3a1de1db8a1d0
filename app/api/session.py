"""Session API: sign out of the mobile app (the bearer token is revoked at once)."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.api import BaseApi, expose
from flask_jwt_extended import jwt_required

from app.api.common import safe
from app.api.schemas import session as schemas
from app.security.hardening import revoke_current_token


class SessionApi(BaseApi):
    resource_name = "session"
    openapi_spec_tag = "Session"
    openapi_spec_component_schemas = schemas.COMPONENTS

    @expose("/logout", methods=["POST"])
    @jwt_required()
    @safe
    def logout(self) -> Any:
        """Revoke the bearer token of this request.
        ---
        post:
          summary: Sign out (revoke the current access token)
          security:
          - jwt: []
          responses:
            200:
              description: revoked
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/MessageSchema'}
            401: {$ref: '#/components/responses/401'}
        """
        revoke_current_token()
        return self.response(200, **schemas.MessageSchema().dump({"message": "signed out"}))


def register(appbuilder: Any) -> None:
    appbuilder.add_api(SessionApi)
