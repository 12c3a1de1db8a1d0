"""The mobile app's on-site API: customer look-up and the customer's whole picture, visits
with corrections and photos, documents, on-site service / safety / equipment records and
box–meter anomalies.  Writes take JSON or multipart form data (files in ``photos``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect
from sqlalchemy import select

from app.api.common import api_actor, get_endpoint, iso, json_body, safe
from app.api.idempotency import idempotent
from app.api.schemas import onsite as schemas
from app.documents.store import documents_of, load_document
from app.documents.web import current_store, read_uploads, send_document
from app.extensions import db
from app.models.customer import CustomerTag, EnergyIntention
from app.models.document import OwnerType
from app.models.onsite import EquipmentRecord, MeterBoxAnomaly, SafetyRecord, ServiceRecord, Visit
from app.onsite import anomaly as anomalies
from app.onsite import service
from app.security.masking import masked
from app.workflow.errors import InvalidInput, checked_id

LIST_LIMIT = 200


def local_today() -> dt.date:
    from app.models.base import utcnow
    from app.workflow.calendar import LOCAL_TZ

    return utcnow().astimezone(LOCAL_TZ).date()


def form_body() -> dict[str, Any]:
    """The request's fields, from JSON or from a (multipart) form."""
    if request.is_json:
        return json_body()
    body: dict[str, Any] = {}
    for key in request.form:
        values = request.form.getlist(key)
        body[key] = values if len(values) > 1 else values[0]
    return body


def as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in {"1", "true", "yes", "on", "y"}


def as_date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{field} must be YYYY-MM-DD", field=field) from None


def uploads() -> list[Any]:
    store = current_store()
    files = request.files.getlist("photos") + request.files.getlist("file") if request.files else []
    return read_uploads(files, store)


def photo_json(documents: list[Any]) -> list[dict[str, Any]]:
    return [{"id": d.id, "kind": d.kind, "content_type": d.content_type, "name": d.original_name,
             "size_bytes": d.size_bytes, "has_thumbnail": d.has_thumbnail,
             "url": f"/api/v1/onsite/documents/{d.id}",
             "thumbnail_url": f"/api/v1/onsite/documents/{d.id}/thumbnail" if d.has_thumbnail else None}
            for d in documents]


def anomaly_json(a: MeterBoxAnomaly, photos: list[Any] | None = None) -> dict[str, Any]:
    return {
        "id": a.id, "grid": a.grid.code, "meter_box_no": a.meter_box_no, "meter_no": a.meter_no,
        "expected": a.expected, "found": a.found, "state": a.state,
        "registered_at": iso(a.registered_at), "registered_by": a.registered_by_name,
        "rectified_at": iso(a.rectified_at), "rectified_by": a.rectified_by_name,
        "rectification": a.rectification, "verified_at": iso(a.verified_at), "verified_by": a.verified_by_name,
        "timeline": [{"action": e.action, "from": e.from_state, "to": e.to_state, "actor": e.actor_name,
                      "at": iso(e.created_at), "note": e.note} for e in a.events],
        "photos": photo_json(photos or []),
    }


def _record_list(model: Any, actor: Any, columns: Any) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(model).where(actor.grid_clause(model.grid_id, model.station_id))
                              .order_by(model.id.desc()).limit(LIST_LIMIT))
    return [columns(r) for r in rows]


def _service_json(r: ServiceRecord) -> dict[str, Any]:
    return {"id": r.id, "grid": r.grid.code, "customer_id": r.customer_id, "order_id": r.order_id,
            "content": r.content, "staff": r.staff_name, "performed_at": iso(r.performed_at)}


def _safety_json(r: SafetyRecord) -> dict[str, Any]:
    return {"id": r.id, "grid": r.grid.code, "site": r.site, "hazards": r.hazards,
            "rectification_required": r.rectification_required,
            "deadline": r.deadline.isoformat() if r.deadline else None, "closed": r.closed,
            "overdue": bool(not r.closed and r.deadline and r.deadline < local_today()),
            "closed_at": iso(r.closed_at), "closed_by": r.closed_by_name, "staff": r.staff_name,
            "recorded_at": iso(r.recorded_at)}


def _equipment_json(r: EquipmentRecord) -> dict[str, Any]:
    return {"id": r.id, "grid": r.grid.code, "equipment_type": r.equipment_type, "model": r.model,
            "serial_no": r.serial_no, "location": r.location,
            "transformer": r.transformer.code if r.transformer else None, "meter_box_no": r.meter_box_no,
            "staff": r.staff_name, "recorded_at": iso(r.recorded_at)}


class OnsiteApi(BaseApi):
    resource_name = "onsite"
    openapi_spec_tag = "On-site"
    allow_browser_login = False
    base_permissions = ["can_get", "can_post", "can_verify"]
    method_permission_name = {
        "choices": "get", "search_customers": "get", "customer_picture": "get", "register_visit": "post",
        "list_visits": "get",
        "get_document": "get", "get_thumbnail": "get", "upload_documents": "post",
        "list_anomalies": "get", "anomaly_counts": "get", "get_anomaly": "get",
        "register_anomaly": "post", "rectify_anomaly": "post", "verify_anomaly": "verify",
        "list_service_records": "get", "add_service_record": "post",
        "list_safety_records": "get", "add_safety_record": "post", "close_safety_record": "post",
        "list_equipment": "get", "add_equipment": "post",
    }
    openapi_spec_component_schemas = schemas.COMPONENTS

    # --- customers and visits ---------------------------------------------------------
    @expose("/choices", methods=["GET"])
    @protect()
    @safe
    def choices(self) -> Any:
        """What a visit may note: the customer tags and energy intentions.
        ---
        get:
          summary: Customer tags and energy intentions to choose from
          responses:
            200:
              description: tags and intentions
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ChoicesSchema'}
            401: {$ref: '#/components/responses/401'}
        """
        api_actor()
        tags = db.session.scalars(select(CustomerTag).order_by(CustomerTag.code))
        intentions = db.session.scalars(select(EnergyIntention).order_by(EnergyIntention.code))
        return self.response(200, **schemas.ChoicesSchema().dump({"tags": list(tags), "intentions": list(intentions)}))

    @expose("/customers", methods=["GET"])
    @protect()
    @safe
    def search_customers(self) -> Any:
        """Look up customers in the caller's scope.
        ---
        get:
          summary: Search customers by number, name or address (phone only with the PersonalData permission)
          parameters:
          - {in: query, name: q, schema: {type: string}}
          - {in: query, name: phone, schema: {type: string}}
          responses:
            200:
              description: matching customers
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/CustomerSearchSchema'}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
        """
        actor = api_actor()
        found = service.search_customers(db.session, actor, request.args.get("q", ""), request.args.get("phone"))
        return self.response(200, **schemas.CustomerSearchSchema().dump({"result": [{
            "id": c.id, "customer_no": c.customer_no, "name": c.name,
            "phone": masked("phone", c.phone, actor.sees_personal_data), "address": c.address,
            "grid": c.grid.code} for c in found]}))

    @expose("/customers/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def customer_picture(self, pk: int) -> Any:
        """The customer's whole picture.
        ---
        get:
          summary: Archive, tags, intentions, last 12 bills, open and past orders, visits and history
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: the picture
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/CustomerPictureResultSchema'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        picture = service.customer_picture(db.session, api_actor(), pk)
        for visit in picture["visits"]:
            for photo in visit["photos"]:
                photo["url"] = f"/api/v1/onsite/documents/{photo['id']}"
        return self.response(200, **schemas.CustomerPictureResultSchema().dump({"result": picture}))

    @expose("/visits", methods=["GET"])
    @protect()
    @safe
    def list_visits(self) -> Any:
        """Visits in the caller's scope, newest first (``mine=1``: the caller's own).
        ---
        get:
          summary: List customer visits
          parameters:
          - {in: query, name: mine, schema: {type: boolean}}
          responses:
            200:
              description: visits
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/VisitListSchema'}
            401: {$ref: '#/components/responses/401'}
        """
        actor = api_actor()
        query = select(Visit).where(actor.grid_clause(Visit.grid_id, Visit.station_id))
        if as_bool(request.args.get("mine")):
            query = query.where(Visit.staff_id == actor.staff_id)
        rows = db.session.scalars(query.order_by(Visit.visited_at.desc(), Visit.id.desc()).limit(LIST_LIMIT))
        return self.response(200, **schemas.VisitListSchema().dump({"result": [{
            "id": v.id, "customer_id": v.customer_id, "customer_no": v.customer.customer_no,
            "customer_name": v.customer.name, "grid": v.grid.code, "staff": v.staff_name,
            "visited_at": v.visited_at, "address_confirmed": v.address_confirmed,
            "contact_confirmed": v.contact_confirmed, "note": v.note} for v in rows]}))

    @expose("/customers/<int:pk>/visits", methods=["POST"])
    @protect()
    @idempotent
    @safe
    def register_visit(self, pk: int) -> Any:
        """Register a visit, with the contact and address confirmed or corrected, and photos.
        ---
        post:
          summary: Register a customer visit
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            content:
              multipart/form-data:
                schema:
                  type: object
                  properties:
                    phone: {type: string, description: corrected phone (old one kept in history)}
                    address: {type: string, description: corrected address}
                    contact_confirmed: {type: boolean}
                    address_confirmed: {type: boolean}
                    tags: {type: string, description: comma-separated tag codes}
                    intentions: {type: string, description: comma-separated energy intention codes}
                    note: {type: string}
                    photos: {type: array, items: {type: string, format: binary}}
              application/json:
                schema: {$ref: '#/components/schemas/VisitInputSchema'}
          responses:
            201:
              description: the visit
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/VisitReceiptResultSchema'}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        actor = api_actor()
        body = form_body()
        photos = uploads()
        visit = service.register_visit(
            db.session, actor, pk, store=current_store(),
            phone=body.get("phone") or None, address=body.get("address") or None,
            contact_confirmed=as_bool(body.get("contact_confirmed")),
            address_confirmed=as_bool(body.get("address_confirmed")),
            tag_codes=as_list(body.get("tags")), intention_codes=as_list(body.get("intentions")),
            note=body.get("note"), photos=photos)
        db.session.commit()
        docs = documents_of(db.session, OwnerType.VISIT.value, [visit.id]).get(visit.id, [])
        return self.response(201, **schemas.VisitReceiptResultSchema().dump({"result": {
            "id": visit.id, "customer_id": visit.customer_id, "visited_at": visit.visited_at,
            "photos": photo_json(docs)}}))

    # --- documents ----------------------------------------------------------------------
    @expose("/documents", methods=["POST"])
    @protect()
    @idempotent
    @safe
    def upload_documents(self) -> Any:
        """Attach photos or videos to an on-site record.
        ---
        post:
          summary: Upload documents (JPEG/PNG/WebP photos, MP4 videos) for a record
          requestBody:
            content:
              multipart/form-data:
                schema:
                  type: object
                  required: [owner_type, owner_id]
                  properties:
                    owner_type: {type: string, enum: [visit, service_record, safety_record, equipment, anomaly]}
                    owner_id: {type: integer}
                    file: {type: array, items: {type: string, format: binary}}
          responses:
            201:
              description: the stored documents
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/DocumentListSchema'}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        actor = api_actor()
        body = form_body()
        owner_id = checked_id(body.get("owner_id"), "owner_id")
        owner = service.load_owner(db.session, actor, str(body.get("owner_type")), owner_id)
        files = uploads()
        if not files:
            raise InvalidInput("no file was sent", field="file")
        docs = current_store().attach(db.session, actor, files, owner_type=str(body["owner_type"]),
                                      owner_id=owner.id, grid_id=owner.grid_id, station_id=owner.station_id)
        db.session.commit()
        return self.response(201, **schemas.DocumentListSchema().dump({"result": photo_json(docs)}))

    @expose("/documents/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def get_document(self, pk: int) -> Any:
        """A document's file, when the caller's scope covers its record.
        ---
        get:
          summary: Download a document
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: the file
              content:
                image/jpeg: {schema: {type: string, format: binary}}
                image/png: {schema: {type: string, format: binary}}
                image/webp: {schema: {type: string, format: binary}}
                video/mp4: {schema: {type: string, format: binary}}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        document = load_document(db.session, api_actor(), pk)
        return send_document(document, current_store())

    @expose("/documents/<int:pk>/thumbnail", methods=["GET"])
    @protect()
    @safe
    def get_thumbnail(self, pk: int) -> Any:
        """A photo's thumbnail (JPEG).
        ---
        get:
          summary: Download a photo's thumbnail
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200: {description: the thumbnail, content: {image/jpeg: {schema: {type: string, format: binary}}}}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        document = load_document(db.session, api_actor(), pk)
        return send_document(document, current_store(), thumbnail=True)

    # --- box–meter anomalies ------------------------------------------------------------
    @expose("/anomalies", methods=["GET"])
    @protect()
    @safe
    def list_anomalies(self) -> Any:
        """Box–meter anomalies in the caller's scope.
        ---
        get:
          summary: List box–meter anomalies
          parameters:
          - {in: query, name: state, schema: {type: string, enum: [registered, rectified, verified]}}
          responses:
            200:
              description: anomalies
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/AnomalyListSchema'}
            401: {$ref: '#/components/responses/401'}
        """
        actor = api_actor()
        query = select(MeterBoxAnomaly).where(actor.grid_clause(MeterBoxAnomaly.grid_id, MeterBoxAnomaly.station_id))
        if request.args.get("state"):
            query = query.where(MeterBoxAnomaly.state == request.args["state"])
        rows = db.session.scalars(query.order_by(MeterBoxAnomaly.id.desc()).limit(LIST_LIMIT))
        return self.response(200, **schemas.AnomalyListSchema().dump({"result": [anomaly_json(a) for a in rows]}))

    @expose("/anomalies/counts", methods=["GET"])
    @protect()
    @safe
    def anomaly_counts(self) -> Any:
        """Per-grid counts of anomalies by state.
        ---
        get:
          summary: Box–meter anomaly counts per grid
          responses:
            200:
              description: counts
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/AnomalyCountListSchema'}
            401: {$ref: '#/components/responses/401'}
        """
        return self.response(200, **schemas.AnomalyCountListSchema().dump(
            {"result": anomalies.counts_by_grid(db.session, api_actor())}))

    @expose("/anomalies/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def get_anomaly(self, pk: int) -> Any:
        """One anomaly with its timeline.
        ---
        get:
          summary: Get a box–meter anomaly
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: the anomaly
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/AnomalyResultSchema'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        anomaly = anomalies.load(db.session, api_actor(), pk)
        docs = documents_of(db.session, OwnerType.ANOMALY.value, [anomaly.id]).get(anomaly.id, [])
        return self.response(200, **schemas.AnomalyResultSchema().dump({"result": anomaly_json(anomaly, docs)}))

    @expose("/anomalies", methods=["POST"])
    @protect()
    @idempotent
    @safe
    def register_anomaly(self) -> Any:
        """Register an abnormal box–meter relationship.
        ---
        post:
          summary: Register a box–meter anomaly
          requestBody:
            content:
              multipart/form-data:
                schema:
                  type: object
                  required: [grid_id, meter_box_no, meter_no, expected, found]
                  properties:
                    grid_id: {type: integer}
                    meter_box_no: {type: string}
                    meter_no: {type: string}
                    expected: {type: string}
                    found: {type: string}
                    photos: {type: array, items: {type: string, format: binary}}
              application/json:
                schema: {$ref: '#/components/schemas/AnomalyInputSchema'}
          responses:
            201:
              description: the anomaly
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/AnomalyResultSchema'}
            400: {$ref: '#/components/responses/400'}
            403: {$ref: '#/components/responses/403'}
        """
        actor = api_actor()
        body = form_body()
        photos = uploads()
        anomaly = anomalies.register(
            db.session, actor, grid_id=body.get("grid_id"), meter_box_no=body.get("meter_box_no"),
            meter_no=body.get("meter_no"), expected=body.get("expected"), found=body.get("found"),
            photos=photos, store=current_store())
        db.session.commit()
        return self.response(201, **schemas.AnomalyResultSchema().dump({"result": anomaly_json(anomaly)}))

    @expose("/anomalies/<int:pk>/rectify", methods=["POST"])
    @protect()
    @idempotent
    @safe
    def rectify_anomaly(self, pk: int) -> Any:
        """Record the rectification of an anomaly.
        ---
        post:
          summary: Rectify a box–meter anomaly
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            content:
              application/json:
                schema: {$ref: '#/components/schemas/RectificationInputSchema'}
          responses:
            200:
              description: the anomaly
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/AnomalyResultSchema'}
            400: {$ref: '#/components/responses/400'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            409: {description: not in a state that can be rectified}
        """
        body = form_body()
        photos = uploads()
        anomaly = anomalies.rectify(db.session, api_actor(), pk, body.get("record"), photos=photos,
                                    store=current_store())
        db.session.commit()
        return self.response(200, **schemas.AnomalyResultSchema().dump({"result": anomaly_json(anomaly)}))

    @expose("/anomalies/<int:pk>/verify", methods=["POST"])
    @protect()
    @idempotent
    @safe
    def verify_anomaly(self, pk: int) -> Any:
        """Verify (or refuse) a rectification; team leaders and above.
        ---
        post:
          summary: Verify a box–meter anomaly's rectification
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            content:
              application/json:
                schema: {$ref: '#/components/schemas/VerificationInputSchema'}
          responses:
            200:
              description: the anomaly
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/AnomalyResultSchema'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            409: {description: not in a state that can be verified}
        """
        body = form_body()
        accepted = as_bool(body["accepted"]) if "accepted" in body else True
        anomaly = anomalies.verify(db.session, api_actor(), pk, accepted=accepted, note=body.get("note"))
        db.session.commit()
        return self.response(200, **schemas.AnomalyResultSchema().dump({"result": anomaly_json(anomaly)}))

    # --- service, safety and equipment records -------------------------------------------
    list_service_records = get_endpoint(
        "list_service_records", "/service-records", lambda actor: _record_list(ServiceRecord, actor, _service_json),
        description="On-site service records in scope.", summary="List on-site service records", result="records",
        schema=schemas.ServiceRecordListSchema)

    @expose("/service-records", methods=["POST"])
    @protect()
    @idempotent
    @safe
    def add_service_record(self) -> Any:
        """Record on-site service for a customer or an order.
        ---
        post:
          summary: Add an on-site service record
          requestBody:
            content:
              multipart/form-data:
                schema:
                  type: object
                  required: [content]
                  properties:
                    content: {type: string}
                    customer_id: {type: integer}
                    order_id: {type: integer}
                    grid_id: {type: integer}
                    photos: {type: array, items: {type: string, format: binary}}
              application/json:
                schema: {$ref: '#/components/schemas/ServiceRecordInputSchema'}
          responses:
            201:
              description: the record
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ServiceRecordResultSchema'}
            400: {$ref: '#/components/responses/400'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        body = form_body()
        photos = uploads()
        record = service.record_service(db.session, api_actor(), content=body.get("content"),
                                        customer_id=body.get("customer_id") or None,
                                        order_id=body.get("order_id") or None, grid_id=body.get("grid_id") or None,
                                        photos=photos, store=current_store())
        db.session.commit()
        return self.response(201, **schemas.ServiceRecordResultSchema().dump({"result": _service_json(record)}))

    list_safety_records = get_endpoint(
        "list_safety_records", "/safety-records", lambda actor: _record_list(SafetyRecord, actor, _safety_json),
        description="Safety supervision records in scope.", summary="List safety supervision records",
        result="records", schema=schemas.SafetyRecordListSchema)

    @expose("/safety-records", methods=["POST"])
    @protect()
    @idempotent
    @safe
    def add_safety_record(self) -> Any:
        """Record a safety supervision visit.
        ---
        post:
          summary: Add a safety supervision record
          requestBody:
            content:
              application/json:
                schema: {$ref: '#/components/schemas/SafetyRecordInputSchema'}
          responses:
            201:
              description: the record
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/SafetyRecordResultSchema'}
            400: {$ref: '#/components/responses/400'}
            403: {$ref: '#/components/responses/403'}
        """
        body = form_body()
        photos = uploads()
        record = service.record_safety(db.session, api_actor(), grid_id=body.get("grid_id"), site=body.get("site"),
                                       hazards=body.get("hazards"),
                                       rectification_required=body.get("rectification_required"),
                                       deadline=as_date(body.get("deadline"), "deadline"),
                                       photos=photos, store=current_store())
        db.session.commit()
        return self.response(201, **schemas.SafetyRecordResultSchema().dump({"result": _safety_json(record)}))

    @expose("/safety-records/<int:pk>/close", methods=["POST"])
    @protect()
    @idempotent
    @safe
    def close_safety_record(self, pk: int) -> Any:
        """Close a safety record once its hazards are rectified.
        ---
        post:
          summary: Close a safety supervision record
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            content:
              application/json:
                schema: {$ref: '#/components/schemas/SafetyClosingInputSchema'}
          responses:
            200:
              description: the record
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/SafetyRecordResultSchema'}
            400: {$ref: '#/components/responses/400'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        body = form_body()
        record = service.close_safety(db.session, api_actor(), pk, body.get("note"))
        db.session.commit()
        return self.response(200, **schemas.SafetyRecordResultSchema().dump({"result": _safety_json(record)}))

    list_equipment = get_endpoint(
        "list_equipment", "/equipment", lambda actor: _record_list(EquipmentRecord, actor, _equipment_json),
        description="Equipment records in scope.", summary="List collected equipment information",
        result="records", schema=schemas.EquipmentRecordListSchema)

    @expose("/equipment", methods=["POST"])
    @protect()
    @idempotent
    @safe
    def add_equipment(self) -> Any:
        """Collect equipment information on site.
        ---
        post:
          summary: Add an equipment record
          requestBody:
            content:
              multipart/form-data:
                schema:
                  type: object
                  required: [equipment_type, location]
                  properties:
                    equipment_type: {type: string}
                    model: {type: string}
                    serial_no: {type: string}
                    location: {type: string}
                    grid_id: {type: integer}
                    transformer_id: {type: integer}
                    meter_box_no: {type: string}
                    photos: {type: array, items: {type: string, format: binary}}
              application/json:
                schema: {$ref: '#/components/schemas/EquipmentRecordInputSchema'}
          responses:
            201:
              description: the record
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/EquipmentRecordResultSchema'}
            400: {$ref: '#/components/responses/400'}
            403: {$ref: '#/components/responses/403'}
        """
        body = form_body()
        photos = uploads()
        record = service.record_equipment(
            db.session, api_actor(), equipment_type=body.get("equipment_type"), location=body.get("location"),
            grid_id=body.get("grid_id") or None, model=body.get("model"), serial_no=body.get("serial_no"),
            transformer_id=body.get("transformer_id") or None, meter_box_no=body.get("meter_box_no"),
            photos=photos, store=current_store())
        db.session.commit()
        return self.response(201, **schemas.EquipmentRecordResultSchema().dump({"result": _equipment_json(record)}))


def register(appbuilder: Any) -> None:
    appbuilder.add_api(OnsiteApi)
