//! Client-side stand-in for the API server's validation of a custom resource: the structural
//! openAPIV3Schema keywords our CRDs use (with strict field validation, as `kubectl apply` does
//! by default), defaulting, then the CEL rules through kube's own CEL evaluator.
//!
//! Messages follow the API server's wording closely enough that a test reads like `kubectl` output.

// Shared by several test crates, each of which uses only part of it.
#![allow(dead_code)]

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

/// Validates `object` (a whole custom resource as JSON) against the CRD's first version and
/// returns every error; empty when the API server would accept it.
pub fn validate_against_crd(crd: &CustomResourceDefinition, object: &Value) -> Vec<String> {
    let schema = serde_json::to_value(
        crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|schema| schema.open_api_v3_schema.as_ref())
            .expect("CRD has an openAPIV3Schema"),
    )
    .expect("schema serializes");
    let mut errors = Vec::new();
    // `apiVersion`, `kind` and `metadata` are validated by the API server itself.
    let mut body = object.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
        map.remove("metadata");
    }
    let mut defaulted = body.clone();
    apply_defaults(&schema, &mut defaulted);
    check(&schema, &defaulted, "", &mut errors);
    if errors.is_empty() {
        let mut with_metadata = defaulted;
        if let (Some(map), Some(metadata)) = (with_metadata.as_object_mut(), object.get("metadata"))
        {
            map.insert("metadata".into(), metadata.clone());
        }
        if let Err(cel_errors) =
            kube::core::cel::Validator::new().validate(&schema, &with_metadata, None)
        {
            errors.extend(cel_errors.as_slice().iter().map(ToString::to_string));
        }
    }
    errors
}

/// Fills in `default` values of absent properties, as the API server does before validating.
fn apply_defaults(schema: &Value, value: &mut Value) {
    if let (Some(properties), Some(map)) = (
        schema.get("properties").and_then(Value::as_object),
        value.as_object_mut(),
    ) {
        for (name, property) in properties {
            if !map.contains_key(name)
                && let Some(default) = property.get("default")
            {
                map.insert(name.clone(), default.clone());
            }
            if let Some(child) = map.get_mut(name) {
                apply_defaults(property, child);
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array_mut()) {
        for item in list {
            apply_defaults(items, item);
        }
    }
}

fn child_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn type_matches(expected: &str, value: &Value) -> bool {
    match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        _ => true,
    }
}

fn check(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) {
            errors.push(format!(
                "{path}: Invalid value: \"null\": {path} in body must not be null"
            ));
        }
        return;
    }
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !(value.is_string() || value.is_i64() || value.is_u64()) {
            errors.push(format!(
                "{path}: Invalid value: {value}: must be an integer or a string"
            ));
        }
        return;
    }
    if let Some(expected) = schema.get("type").and_then(Value::as_str)
        && !type_matches(expected, value)
    {
        errors.push(format!(
            "{path}: Invalid value: {value}: {path} in body must be of type {expected}"
        ));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let supported: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        errors.push(format!(
            "{path}: Unsupported value: {value}: supported values: {}",
            supported.join(", ")
        ));
    }
    match value {
        Value::String(text) => check_string(schema, text, path, errors),
        Value::Number(number) => check_number(schema, number, path, errors),
        Value::Array(items) => check_array(schema, items, path, errors),
        Value::Object(map) => check_object(schema, map, path, errors),
        Value::Bool(_) | Value::Null => {}
    }
}

fn check_string(schema: &Value, text: &str, path: &str, errors: &mut Vec<String>) {
    let chars = text.chars().count();
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && chars as u64 > max
    {
        errors.push(format!(
            "{path}: Too long: may not be more than {max} bytes"
        ));
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && (chars as u64) < min
    {
        errors.push(format!(
            "{path}: Invalid value: {text:?}: {path} in body should be at least {min} chars long"
        ));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        let regex = regex::Regex::new(pattern).expect("schema pattern compiles");
        if !regex.is_match(text) {
            errors.push(format!(
                "{path}: Invalid value: {text:?}: {path} in body should match '{pattern}'"
            ));
        }
    }
}

fn check_number(schema: &Value, number: &serde_json::Number, path: &str, errors: &mut Vec<String>) {
    let value = number.as_f64().unwrap_or_default();
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
        && value > max
    {
        errors.push(format!(
            "{path}: Invalid value: {number}: {path} in body should be less than or equal to {max}"
        ));
    }
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
        && value < min
    {
        errors.push(format!(
            "{path}: Invalid value: {number}: {path} in body should be greater than or equal to {min}"
        ));
    }
}

fn check_array(schema: &Value, items: &[Value], path: &str, errors: &mut Vec<String>) {
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
        && items.len() as u64 > max
    {
        errors.push(format!(
            "{path}: Too many: {}: must have at most {max} items",
            items.len()
        ));
    }
    if let Some(item_schema) = schema.get("items") {
        for (index, item) in items.iter().enumerate() {
            check(item_schema, item, &format!("{path}[{index}]"), errors);
        }
    }
}

fn check_object(
    schema: &Value,
    map: &serde_json::Map<String, Value>,
    path: &str,
    errors: &mut Vec<String>,
) {
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(name) {
                errors.push(format!("{}: Required value", child_path(path, name)));
            }
        }
    }
    let preserves_unknown =
        schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    for (name, child) in map {
        let child_at = child_path(path, name);
        if let Some(property) = properties.and_then(|properties| properties.get(name)) {
            check(property, child, &child_at, errors);
        } else if let Some(additional) =
            schema.get("additionalProperties").filter(|a| a.is_object())
        {
            check(additional, child, &child_at, errors);
        } else if !preserves_unknown && properties.is_some() {
            errors.push(format!("unknown field \"{child_at}\""));
        }
    }
}
