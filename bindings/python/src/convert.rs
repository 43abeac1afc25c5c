//! Python values to JSON and back: args cross into Rust as JSON, records come back as dicts.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value as Json};

/// Deeper nesting than this is refused before the engine sees it (it also stops cycles).
const MAX_DEPTH: usize = 128;

/// Converts a Python value made of dicts, lists, tuples, strings, numbers, booleans and `None`.
pub(crate) fn to_json(value: &Bound<'_, PyAny>, path: &str) -> PyResult<Json> {
    convert(value, path, 0)
}

fn convert(value: &Bound<'_, PyAny>, path: &str, depth: usize) -> PyResult<Json> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "`{path}` nests deeper than {MAX_DEPTH} levels"
        )));
    }
    if value.is_none() {
        return Ok(Json::Null);
    }
    if let Ok(b) = value.downcast::<PyBool>() {
        return Ok(Json::Bool(b.is_true()));
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(i) = value.extract::<i64>() {
            return Ok(Json::from(i));
        }
        if let Ok(u) = value.extract::<u64>() {
            return Ok(Json::from(u));
        }
        return Err(PyValueError::new_err(format!(
            "`{path}`: integer out of the 64-bit range"
        )));
    }
    if let Ok(f) = value.downcast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Json::Number)
            .ok_or_else(|| {
                PyValueError::new_err(format!("`{path}`: {} is not a finite number", f.value()))
            });
    }
    if let Ok(s) = value.downcast::<PyString>() {
        return Ok(Json::String(s.to_cow()?.into_owned()));
    }
    if let Ok(dict) = value.downcast::<PyDict>() {
        let mut map = Map::new();
        for (key, item) in dict.iter() {
            let Ok(key) = key.downcast::<PyString>() else {
                return Err(PyTypeError::new_err(format!(
                    "`{path}`: dict keys must be str, got {}",
                    type_name(&key)
                )));
            };
            let key = key.to_cow()?.into_owned();
            let child = format!("{path}.{key}");
            map.insert(key, convert(&item, &child, depth + 1)?);
        }
        return Ok(Json::Object(map));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (index, item) in value.try_iter()?.enumerate() {
            items.push(convert(&item?, &format!("{path}[{index}]"), depth + 1)?);
        }
        return Ok(Json::Array(items));
    }
    Err(PyTypeError::new_err(format!(
        "`{path}`: {} cannot be passed to the guard; use str, int, float, bool, None, list or dict",
        type_name(value)
    )))
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into())
}

/// Converts JSON to Python dicts, lists and scalars.
pub(crate) fn to_py<'py>(py: Python<'py>, value: &Json) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Json::Null => py.None().into_bound(py),
        Json::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Json::String(s) => PyString::new(py, s).into_any(),
        Json::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Json::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// Serializes any serde value (records, decisions) to Python objects.
pub(crate) fn serde_to_py<'py, T: serde::Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value)
        .map_err(|e| PyValueError::new_err(format!("cannot encode: {e}")))?;
    to_py(py, &json)
}
