//! Python values to JSON and back: args cross into Rust as JSON, records come back as dicts.
//!
//! The walk is direct (Python objects to `serde_json` values, no JSON text in between), and the
//! path named in an error is only spelled out when there is an error.

use std::fmt;

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value as Json};

/// Deeper nesting than this is refused before the engine sees it (it also stops cycles).
const MAX_DEPTH: usize = 128;

/// Where a value sits in what is being converted, for error messages.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root(&'a str),
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(name) => f.write_str(name),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// `agentwarrant._convert.jsonable`, resolved once by [`init`].
static JSONABLE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Imports `agentwarrant._convert` once and keeps `jsonable`; called from the module's init.
pub(crate) fn init(py: Python<'_>) -> PyResult<()> {
    JSONABLE
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(
                py.import("agentwarrant._convert")?
                    .getattr("jsonable")?
                    .unbind(),
            )
        })
        .map(|_| ())
}

/// Converts a Python value made of dicts, lists, tuples, strings, numbers, booleans and `None`.
///
/// Any other value is handed to `agentwarrant._convert.jsonable` (enums, sets, paths,
/// dataclasses, pydantic models, datetimes) and its answer converted in turn; a value it
/// cannot convert either is a `TypeError` naming where it sits under `root`.
pub(crate) fn to_json(value: &Bound<'_, PyAny>, root: &str) -> PyResult<Json> {
    convert(value, Path::Root(root), 0)
}

fn convert(value: &Bound<'_, PyAny>, path: Path<'_>, depth: usize) -> PyResult<Json> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "`{path}` nests deeper than {MAX_DEPTH} levels"
        )));
    }
    if let Ok(s) = value.downcast::<PyString>() {
        return Ok(Json::String(s.to_cow()?.into_owned()));
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
    if let Ok(dict) = value.downcast::<PyDict>() {
        return convert_dict(dict, path, depth);
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let mut items = Vec::with_capacity(value.len()?);
        for (index, item) in value.try_iter()?.enumerate() {
            items.push(convert(&item?, Path::Index(&path, index), depth + 1)?);
        }
        return Ok(Json::Array(items));
    }
    let Some(jsonable) = JSONABLE.get(value.py()) else {
        // INVARIANT: `init` ran when the module was imported.
        return Err(PyRuntimeError::new_err(
            "agentwarrant._convert.jsonable is not loaded",
        ));
    };
    let converted = jsonable.bind(value.py()).call1((value,))?;
    if converted.is(value) {
        return Err(PyTypeError::new_err(format!(
            "`{path}`: {} cannot be passed to the guard; use str, int, float, bool, None, list or dict",
            type_name(value)
        )));
    }
    convert(&converted, path, depth + 1)
}

fn convert_dict(dict: &Bound<'_, PyDict>, path: Path<'_>, depth: usize) -> PyResult<Json> {
    let mut map = Map::new();
    for (key, item) in dict.iter() {
        let Ok(key) = key.downcast::<PyString>() else {
            return Err(PyTypeError::new_err(format!(
                "`{path}`: dict keys must be str, got {}",
                type_name(&key)
            )));
        };
        let key = key.to_cow()?.into_owned();
        let value = convert(&item, Path::Key(&path, &key), depth + 1)?;
        map.insert(key, value);
    }
    Ok(Json::Object(map))
}

/// Converts a call's args, which must be a dict.
pub(crate) fn args_to_json(tool: &str, args: &Bound<'_, PyAny>) -> PyResult<Json> {
    match args.downcast::<PyDict>() {
        Ok(dict) => convert_dict(dict, Path::Root("args"), 0),
        Err(_) => Err(PyTypeError::new_err(format!(
            "the args of tool `{tool}` must be a dict, got {}",
            type_name(args)
        ))),
    }
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
        Json::Object(map) => map_to_py(py, map)?,
    })
}

/// Converts a JSON object to a Python dict.
pub(crate) fn map_to_py<'py>(
    py: Python<'py>,
    map: &Map<String, Json>,
) -> PyResult<Bound<'py, PyAny>> {
    let dict = PyDict::new(py);
    for (key, item) in map {
        dict.set_item(key, to_py(py, item)?)?;
    }
    Ok(dict.into_any())
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
