//! Rotated ledger files: the active file `NAME.EXT` and, next to it, the files it was rotated
//! into, `NAME.000001.EXT`, `NAME.000002.EXT`, … (oldest first). The chain runs through them
//! in number order and ends in the active file, so a directory, or an active file, names one
//! chain without doubt.

use std::path::{Path, PathBuf};

use crate::error::LedgerError;

/// The active file of a ledger and the names of its rotated files.
#[derive(Debug, Clone)]
pub(crate) struct Family {
    dir: PathBuf,
    stem: String,
    /// The extension with its dot (`.jsonl`), or empty.
    ext: String,
}

impl Family {
    /// The family of the active file at `path`.
    pub(crate) fn of(path: &Path) -> Self {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (stem, ext) = match name.rfind('.') {
            Some(at) if at > 0 => (name[..at].to_owned(), name[at..].to_owned()),
            _ => (name, String::new()),
        };
        Self { dir, stem, ext }
    }

    /// The active file.
    pub(crate) fn active(&self) -> PathBuf {
        self.dir.join(format!("{}{}", self.stem, self.ext))
    }

    /// The `number`th rotated file.
    pub(crate) fn rotated_name(&self, number: u64) -> PathBuf {
        self.dir
            .join(format!("{}.{number:06}{}", self.stem, self.ext))
    }

    /// The number of a rotated file's name, if `name` is one of this family's.
    fn number_of(&self, name: &str) -> Option<u64> {
        let digits = name
            .strip_prefix(&self.stem)?
            .strip_prefix('.')?
            .strip_suffix(&self.ext)?;
        (digits.len() >= 6 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse().ok())
            .flatten()
    }

    /// The rotated files present, by number.
    pub(crate) fn rotated(&self) -> Result<Vec<(u64, PathBuf)>, LedgerError> {
        let entries =
            std::fs::read_dir(&self.dir).map_err(|e| LedgerError::io(self.dir.clone(), &e))?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| LedgerError::io(self.dir.clone(), &e))?;
            if let Some(number) = self.number_of(&entry.file_name().to_string_lossy()) {
                found.push((number, entry.path()));
            }
        }
        found.sort();
        Ok(found)
    }

    /// The files of the chain in order (rotated ones by number, then the active file if it
    /// exists). A number missing from `000001` up is [`LedgerError::Broken`] at the file
    /// after the gap: the chain cannot be followed across it.
    pub(crate) fn files(&self) -> Result<Vec<PathBuf>, LedgerError> {
        let rotated = self.rotated()?;
        let mut files = Vec::with_capacity(rotated.len() + 1);
        for (expected, (number, path)) in (1u64..).zip(rotated) {
            if number != expected {
                return Err(LedgerError::Broken {
                    path,
                    line: 1,
                    problem: format!(
                        "the rotated file before it, `{}`, is missing: the chain cannot be \
                         followed across the gap; restore the file",
                        self.rotated_name(expected).display()
                    ),
                });
            }
            files.push(path);
        }
        let active = self.active();
        if active.exists() || files.is_empty() {
            files.push(active);
        }
        Ok(files)
    }
}

/// The files of the ledger at `path`: a directory holding one ledger, or an active file (with
/// its rotated files next to it), in chain order.
pub(crate) fn ledger_files(path: &Path) -> Result<Vec<PathBuf>, LedgerError> {
    if !path.is_dir() {
        return Family::of(path).files();
    }
    let entries = std::fs::read_dir(path).map_err(|e| LedgerError::io(path, &e))?;
    let mut stems = std::collections::BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(|e| LedgerError::io(path, &e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".jsonl") else {
            continue;
        };
        // `NAME.000001` is a rotated file of `NAME`.
        let stem = match stem.rsplit_once('.') {
            Some((base, digits))
                if digits.len() >= 6 && digits.bytes().all(|b| b.is_ascii_digit()) =>
            {
                base
            }
            _ => stem,
        };
        stems.insert(stem.to_owned());
    }
    let mut stems = stems.into_iter();
    match (stems.next(), stems.next()) {
        (Some(stem), None) => Family::of(&path.join(format!("{stem}.jsonl"))).files(),
        (None, _) => Err(LedgerError::other(
            path,
            "no ledger (`*.jsonl`) in the directory; name the ledger's file",
        )),
        (Some(first), Some(second)) => {
            let mut names = vec![first, second];
            names.extend(stems);
            Err(LedgerError::other(
                path,
                format!(
                    "the directory holds more than one ledger ({}); name the active file of \
                     the one to read",
                    names
                        .iter()
                        .map(|n| format!("`{n}.jsonl`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_names_are_numbered_between_the_stem_and_the_extension() {
        let family = Family::of(Path::new("/var/log/audit.jsonl"));
        assert_eq!(
            family.rotated_name(7),
            PathBuf::from("/var/log/audit.000007.jsonl")
        );
        assert_eq!(family.number_of("audit.000007.jsonl"), Some(7));
        assert_eq!(family.number_of("audit.1234567.jsonl"), Some(1_234_567));
        assert_eq!(family.number_of("audit.jsonl"), None);
        assert_eq!(family.number_of("audit.12.jsonl"), None);
        assert_eq!(family.number_of("audit.jsonl.torn-1700000000"), None);
        assert_eq!(family.number_of("other.000001.jsonl"), None);
        let bare = Family::of(Path::new("ledger"));
        assert_eq!(bare.rotated_name(1), PathBuf::from("./ledger.000001"));
    }
}
