//! `GET /entity/Default/24.200.001/swagger.json`: an OpenAPI 3.0.1 document in Acumatica's own
//! style for exactly the entities served — one tag per entity, operationIds
//! `<Entity>_GetList`, `_PutEntity`, `_GetById`, `_GetByKeys`, `_DeleteById`, `_DeleteByKeys`,
//! `_GetAdHocSchema`, shared `components.parameters`, and schemas that extend `Entity` with
//! value-wrapper fields — so client generators and libraries that build their models from it
//! work unchanged.

use serde_json::{Map, Value, json};

use super::schema::{ENTITIES, Fields, Kind, Spec};

fn value_schema(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "StringValue",
        Kind::Decimal => "DecimalValue",
        Kind::Int => "IntValue",
        Kind::Bool => "BooleanValue",
        Kind::DateTime => "DateTimeValue",
    }
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn param(name: &str) -> Value {
    json!({ "$ref": format!("#/components/parameters/{name}") })
}

fn properties(fields: Fields) -> Map<String, Value> {
    fields
        .iter()
        .map(|(name, kind)| ((*name).to_owned(), reference(value_schema(*kind))))
        .collect()
}

fn extends_entity(props: Map<String, Value>) -> Value {
    json!({ "allOf": [ reference("Entity"), { "type": "object", "properties": props } ] })
}

fn ok(schema: Value) -> Value {
    json!({ "description": "Success", "content": { "application/json": { "schema": schema }, "text/json": { "schema": schema } } })
}

fn errors() -> Value {
    json!({
        "400": { "$ref": "#/components/responses/ContractBasedControllerBase_400" },
        "401": { "$ref": "#/components/responses/ContractBasedControllerBase_401" },
        "403": { "$ref": "#/components/responses/ContractBasedControllerBase_403" },
        "500": { "$ref": "#/components/responses/ContractBasedControllerBase_500" }
    })
}

fn with_errors(mut responses: Value, code: &str, ok_response: Value) -> Value {
    responses[code] = ok_response;
    responses
}

fn paths_for(spec: &Spec) -> Vec<(String, Value)> {
    let e = spec.name;
    let tags = json!([e]);
    let query = [
        param("select"),
        param("filter"),
        param("expand"),
        param("custom"),
    ];
    let mut list_params = query.to_vec();
    list_params.extend([param("skip"), param("top")]);
    let one = [param("select"), param("expand"), param("custom")];
    let mut by_id = vec![param("id")];
    by_id.extend(one.iter().cloned());
    let mut by_keys = vec![param("ids")];
    by_keys.extend(one.iter().cloned());
    let empty = json!({ "description": "Success" });
    vec![
        (
            format!("/{e}"),
            json!({
                "get": {
                    "tags": tags, "summary": "Retrieves records that satisfy the specified conditions from the system.",
                    "operationId": format!("{e}_GetList"), "parameters": list_params,
                    "responses": with_errors(errors(), "200", ok(json!({ "type": "array", "items": reference(e) }))),
                },
                "put": {
                    "tags": tags, "summary": "Creates a record or updates an existing record.",
                    "operationId": format!("{e}_PutEntity"), "parameters": query,
                    "requestBody": { "description": "The record to be passed.", "required": true,
                                     "content": { "application/json": { "schema": reference(e) } } },
                    "responses": with_errors(
                        with_errors(errors(), "412", json!({ "description": "Precondition Failed" })),
                        "200",
                        ok(reference(e)),
                    ),
                },
            }),
        ),
        (
            format!("/{e}/{{id}}"),
            json!({
                "get": { "tags": tags, "summary": "Retrieves a record by the value of the session entity ID from the system.",
                         "operationId": format!("{e}_GetById"), "parameters": by_id,
                         "responses": with_errors(errors(), "200", ok(reference(e))) },
                "delete": { "tags": tags, "summary": "Removes a record by the value of the session entity ID from the system.",
                            "operationId": format!("{e}_DeleteById"), "parameters": [param("id")],
                            "responses": with_errors(errors(), "204", empty.clone()) },
            }),
        ),
        (
            format!("/{e}/{{ids}}"),
            json!({
                "get": { "tags": tags, "summary": "Retrieves a record by the values of its key fields from the system.",
                         "operationId": format!("{e}_GetByKeys"), "parameters": by_keys,
                         "responses": with_errors(errors(), "200", ok(reference(e))) },
                "delete": { "tags": tags, "summary": "Removes a record by the values of its key fields from the system.",
                            "operationId": format!("{e}_DeleteByKeys"), "parameters": [param("ids")],
                            "responses": with_errors(errors(), "204", empty) },
            }),
        ),
        (
            format!("/{e}/$adHocSchema"),
            json!({
                "get": { "tags": tags, "summary": "Retrieves the schema of custom fields of the entity.",
                         "operationId": format!("{e}_GetAdHocSchema"),
                         "responses": with_errors(errors(), "200", ok(reference(e))) },
            }),
        ),
    ]
}

fn value_type(kind: &str, schema: Value) -> Value {
    json!({ "type": "object", "properties": { "value": schema, "error": { "type": "string" } }, "x-kind": kind })
}

/// The actions served, by entity.
pub const ACTIONS: &[(&str, &str)] = &[
    ("SalesOrder", "SalesOrderCreateShipment"),
    ("SalesOrder", "CancelSalesOrder"),
    ("Shipment", "ConfirmShipment"),
];

fn action_path(entity: &str, action: &str) -> Value {
    json!({
        "post": {
            "tags": [entity], "summary": format!("Invokes the {action} action."),
            "operationId": format!("{entity}_InvokeAction_{action}"),
            "requestBody": { "description": "The entity and the action's parameters.", "required": true,
                             "content": { "application/json": { "schema": reference(action) } } },
            "responses": {
                "202": { "$ref": "#/components/responses/InvokeAction_202" },
                "204": { "$ref": "#/components/responses/InvokeAction_204" },
                "400": { "$ref": "#/components/responses/ContractBasedControllerBase_400" },
                "401": { "$ref": "#/components/responses/ContractBasedControllerBase_401" },
            },
        }
    })
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    schemas.insert(
        "Entity".into(),
        json!({
            "type": "object",
            "properties": {
                "id": { "type": "string", "format": "uuid" },
                "rowNumber": { "type": "integer", "format": "int64" },
                "note": reference("StringValue"),
                "custom": { "type": "object", "additionalProperties": { "type": "object", "additionalProperties": { "$ref": "#/components/schemas/CustomField" } } },
                "error": { "type": "string" },
                "files": { "type": "array", "items": reference("FileLink") },
            }
        }),
    );
    schemas.insert(
        "CustomField".into(),
        json!({ "type": "object", "properties": { "type": { "type": "string" }, "value": {} } }),
    );
    schemas.insert("FileLink".into(), json!({ "type": "object", "properties": { "id": { "type": "string", "format": "uuid" }, "filename": { "type": "string" }, "href": { "type": "string" }, "comment": { "type": "string" } } }));
    schemas.insert(
        "StringValue".into(),
        value_type("string", json!({ "type": "string" })),
    );
    schemas.insert(
        "DecimalValue".into(),
        value_type("decimal", json!({ "type": "number", "format": "double" })),
    );
    schemas.insert(
        "IntValue".into(),
        value_type("int", json!({ "type": "integer", "format": "int32" })),
    );
    schemas.insert(
        "BooleanValue".into(),
        value_type("boolean", json!({ "type": "boolean" })),
    );
    schemas.insert(
        "DateTimeValue".into(),
        value_type(
            "datetime",
            json!({ "type": "string", "format": "date-time" }),
        ),
    );
    let contact: Fields = &[
        ("Email", Kind::Text),
        ("FirstName", Kind::Text),
        ("LastName", Kind::Text),
        ("Phone1", Kind::Text),
        ("DisplayName", Kind::Text),
        ("CompanyName", Kind::Text),
        ("Attention", Kind::Text),
        ("BusinessName", Kind::Text),
    ];
    let address: Fields = &[
        ("AddressLine1", Kind::Text),
        ("AddressLine2", Kind::Text),
        ("City", Kind::Text),
        ("State", Kind::Text),
        ("PostalCode", Kind::Text),
        ("Country", Kind::Text),
    ];
    schemas.insert("Address".into(), extends_entity(properties(address)));
    let mut contact_props = properties(contact);
    contact_props.insert("Address".into(), reference("Address"));
    schemas.insert("Contact".into(), extends_entity(contact_props));
    for spec in ENTITIES {
        for (path, item) in paths_for(spec) {
            paths.insert(path, item);
        }
        let mut props = properties(spec.fields);
        for (detail, fields) in spec.details {
            let name = format!("{}{}", spec.name, detail.trim_end_matches('s'));
            schemas.insert(name.clone(), extends_entity(properties(fields)));
            props.insert(
                (*detail).into(),
                json!({ "type": "array", "items": reference(&name) }),
            );
        }
        for linked in spec.linked {
            let target = if linked.ends_with("Address") {
                "Address"
            } else {
                "Contact"
            };
            props.insert((*linked).into(), reference(target));
        }
        schemas.insert(spec.name.into(), extends_entity(props));
    }
    for (entity, action) in ACTIONS {
        paths.insert(format!("/{entity}/{action}"), action_path(entity, action));
        schemas.insert(
            (*action).into(),
            json!({ "type": "object", "required": ["entity"], "properties": {
                "entity": reference(entity), "parameters": { "type": "object" } } }),
        );
    }
    let error_response = |d: &str| json!({ "description": d, "content": { "application/json": { "schema": reference("ErrorMessage") } } });
    schemas.insert(
        "ErrorMessage".into(),
        json!({ "type": "object", "properties": {
            "message": { "type": "string" }, "exceptionMessage": { "type": "string" },
            "exceptionType": { "type": "string" }, "stackTrace": { "type": "string" } } }),
    );
    let string_param = |name: &str, description: &str| json!({ "name": name, "in": "query", "description": description, "schema": { "type": "string" } });
    json!({
        "openapi": "3.0.1",
        "info": { "title": "Default/24.200.001", "version": "3" },
        "servers": [ { "url": "/entity/Default/24.200.001" } ],
        "tags": ENTITIES.iter().map(|s| json!({ "name": s.name })).collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "parameters": {
                "ids": { "name": "ids", "in": "path", "description": "The values of the key fields of the record, separated by /.", "required": true, "schema": { "type": "string" } },
                "id": { "name": "id", "in": "path", "description": "The session entity ID of the record.", "required": true, "schema": { "type": "string", "format": "uuid" } },
                "select": string_param("$select", "The fields of the entity to be returned from the system."),
                "filter": string_param("$filter", "The conditions that determine which records should be selected from the system."),
                "expand": string_param("$expand", "The linked and detail entities that should be expanded."),
                "custom": string_param("$custom", "The fields that are not defined in the contract of the endpoint to be returned from the system."),
                "skip": { "name": "$skip", "in": "query", "description": "The number of records to be skipped from the list of returned records.", "schema": { "type": "integer", "format": "int32" } },
                "top": { "name": "$top", "in": "query", "description": "The number of records to be returned from the system.", "schema": { "type": "integer", "format": "int32" } },
            },
            "responses": {
                "ContractBasedControllerBase_400": error_response("Bad Request"),
                "ContractBasedControllerBase_401": { "description": "The user is not signed in to the system." },
                "InvokeAction_202": { "description": "The action is running: poll the URL in the Location header.",
                                      "headers": { "Location": { "schema": { "type": "string" } } } },
                "InvokeAction_204": { "description": "The action has finished." },
                "ContractBasedControllerBase_403": { "description": "The user has insufficient access rights to perform the operation." },
                "ContractBasedControllerBase_500": error_response("Internal Server Error"),
            },
            "schemas": schemas,
        }
    })
}
