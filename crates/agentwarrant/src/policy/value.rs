//! Building regorus values: objects kept compact for a task's lifetime or left in the map they
//! were built in, arrays of strings, and JSON converted without the detour through serde.

use std::collections::BTreeMap;

use regorus::Value;
use serde_json::{Map, Value as Json};

/// A call's object from a fixed set of members (sorted in place, no allocation but the
/// object's), left unfrozen: see [`unfrozen`].
pub(crate) fn object<const N: usize>(members: [(Value, Value); N]) -> Value {
    unfrozen(BTreeMap::from(members))
}

/// An object kept for the task's lifetime, in regorus's compact (frozen) form.
pub(crate) fn kept<const N: usize>(members: [(Value, Value); N]) -> Value {
    Value::from(BTreeMap::from(members))
}

/// An object from members given in any order.
pub(crate) fn object_of(members: impl IntoIterator<Item = (Value, Value)>) -> Value {
    let mut map = BTreeMap::new();
    for (key, value) in members {
        map.insert(key, value);
    }
    if map.is_empty() {
        Value::new_object()
    } else {
        unfrozen(map)
    }
}

/// An object kept in the map it was built in. `Value::from(map)` would also copy it into a
/// compact slice ("freeze"), worth it for long-lived objects; a call's document is read once.
fn unfrozen(map: BTreeMap<Value, Value>) -> Value {
    Value::Object(regorus::Rc::new(regorus::value::Object::from(map)))
}

pub(crate) fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> Value {
    Value::from(items.into_iter().map(Value::from).collect::<Vec<_>>())
}

/// A JSON value as a regorus value, exactly as regorus's own conversion from
/// `serde_json::Value` makes it, without the detour through serde.
pub(crate) fn from_json(json: &Json) -> Value {
    convert(json, &mut |key| Value::from(key))
}

/// [`from_json`], taking object keys from `key`.
pub(crate) fn convert(json: &Json, key: &mut impl FnMut(&str) -> Value) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::from(u)
            } else if let Some(i) = n.as_i64() {
                Value::from(i)
            } else {
                n.as_f64().map_or(Value::Null, Value::from)
            }
        }
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => Value::from(
            items
                .iter()
                .map(|item| convert(item, key))
                .collect::<Vec<_>>(),
        ),
        Json::Object(map) => object_of(map.iter().map(|(k, v)| (key(k), convert(v, key)))),
    }
}

pub(crate) fn object_from_json(map: &Map<String, Json>) -> Value {
    object_of(
        map.iter()
            .map(|(k, v)| (Value::from(k.as_str()), from_json(v))),
    )
}
