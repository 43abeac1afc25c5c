//! The library's layering (docs/architecture.md): each module of `src/` imports only from the
//! layers below its own, never from a sibling of its layer nor from above. The test reads the
//! `crate::` paths of every source file, so the house cannot drift unnoticed.

use std::path::Path;

use crate::fixtures::{library_sources, library_src};

/// The layers, lowest first. A new module must be placed here (the test fails until it is).
const LAYERS: &[(&str, &[&str])] = &[
    (
        "ground",
        &[
            "canonical",
            "clock",
            "error",
            "ids",
            "kinds",
            "limits",
            "principal",
            "reason",
            "scope",
            "template",
        ],
    ),
    (
        "model",
        &[
            "approval",
            "chain",
            "credential",
            "grant",
            "identity",
            "intent",
            "jwt",
            "redact",
            "token",
            "tool",
        ],
    ),
    ("services", &["approval_store", "ledger", "policy"]),
    ("runtime", &["runtime"]),
    ("pipeline", &["task"]),
    ("facade", &["guard"]),
    ("support", &["bench", "replay", "testing"]),
];

fn layer_of(module: &str) -> Option<(usize, &'static str)> {
    LAYERS
        .iter()
        .enumerate()
        .find(|(_, (_, modules))| modules.contains(&module))
        .map(|(index, (name, _))| (index, *name))
}

/// The top-level module a source file belongs to (`task/pipeline.rs` → `task`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap();
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_owned()
}

/// Every `crate::module` a file's code names, with its line, outside comments and the
/// file's `#[cfg(test)]` module (unit tests may use the whole crate).
fn imports(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("#[cfg(test)]") {
            let rest: Vec<&str> = text.lines().skip(number + 1).take(1).collect();
            if rest
                .first()
                .is_some_and(|next| next.trim_start().starts_with("mod tests"))
            {
                break;
            }
        }
        if code.starts_with("//") {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
                .collect();
            if !name.is_empty() {
                found.push((number + 1, name));
            }
        }
    }
    found
}

#[test]
fn every_module_imports_only_from_the_layers_below_its_own() {
    let src = library_src();
    let files = library_sources();
    let mut problems = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        if module == "lib" {
            continue; // the root only declares modules and re-exports
        }
        let Some((layer, layer_name)) = layer_of(&module) else {
            problems.push(format!(
                "{}: module `{module}` is in no layer: add it to LAYERS and docs/architecture.md",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (line, imported) in imports(&text) {
            if imported == module {
                continue; // within one module (e.g. task/pipeline.rs naming crate::task)
            }
            let Some((other, other_name)) = layer_of(&imported) else {
                problems.push(format!(
                    "{}:{line}: `crate::{imported}` is in no layer",
                    file.display()
                ));
                continue;
            };
            if other >= layer {
                let relation = if other == layer {
                    "a sibling in"
                } else {
                    "above"
                };
                problems.push(format!(
                    "{}:{line}: `{module}` ({layer_name}) imports `crate::{imported}`, \
                     {relation} its layer ({other_name})",
                    file.display()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_layering_check_sees_an_upward_import() {
    let found = imports("use crate::task::Task;\n// use crate::guard::Guard;\nlet x = crate::runtime::Runtime::new();\n#[cfg(test)]\nmod tests {\n    use crate::guard::Guard;\n}\n");
    let names: Vec<&str> = found.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["task", "runtime"]);
    assert!(layer_of("task").unwrap().0 > layer_of("ledger").unwrap().0);
}

#[test]
fn docs_architecture_names_every_layer_and_module() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/architecture.md"),
    )
    .unwrap();
    for (layer, modules) in LAYERS {
        assert!(
            doc.contains(layer),
            "docs/architecture.md does not name layer `{layer}`"
        );
        for module in *modules {
            assert!(
                doc.contains(&format!("`{module}`")),
                "docs/architecture.md does not name module `{module}`"
            );
        }
    }
}
