//! Offline snapshots from manifest files: `kubectl get -o yaml` dumps, List kinds,
//! multi-document YAML (Helm output), JSON. Secret and config map values are dropped as
//! each document is read.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::kinds::{self, split_api_version};
use crate::snapshot::{ClusterStatus, Origin, Snapshot, slim};

/// Largest manifest file read.
pub const MAX_MANIFEST_FILE: u64 = 256 << 20;
/// Deepest directory tree walked.
const MAX_DIR_DEPTH: usize = 32;
/// Most files read from the given paths together.
const MAX_FILES: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read manifest {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("manifest {path} is larger than {MAX_MANIFEST_FILE} bytes")]
    TooLarge { path: PathBuf },
    #[error("manifest {path} is not valid {format}: {message}")]
    Parse {
        path: PathBuf,
        format: &'static str,
        message: String,
    },
    #[error("manifest {path}, document {document}: {problem}")]
    Document {
        path: PathBuf,
        document: usize,
        problem: String,
    },
    #[error("more than {MAX_FILES} manifest files under the given paths")]
    TooManyFiles,
}

/// Builds a snapshot from manifest files and directories (walked recursively for
/// `.yaml`, `.yml` and `.json` files; symbolic links to directories are not followed).
pub fn from_manifests(paths: &[PathBuf]) -> Result<Snapshot, ManifestError> {
    let mut files = Vec::new();
    for path in paths {
        collect_files(path, 0, true, &mut files)?;
    }
    let origin = Origin::Manifests {
        paths: paths.iter().map(|p| p.display().to_string()).collect(),
    };
    let mut snapshot = Snapshot::new("manifests".into(), origin);
    for file in &files {
        for (index, document) in read_documents(file)?.into_iter().enumerate() {
            add_document(&mut snapshot, file, index + 1, document, 0)?;
        }
    }
    snapshot.sort();
    snapshot.status = ClusterStatus::Ok;
    Ok(snapshot)
}

fn collect_files(
    path: &Path,
    depth: usize,
    named: bool,
    out: &mut Vec<PathBuf>,
) -> Result<(), ManifestError> {
    let io = |source| ManifestError::Io {
        path: path.to_path_buf(),
        source,
    };
    // A path the user named is followed even through a link; inside a tree, links to
    // directories are not (no loops), links to files are read.
    let meta = if named {
        std::fs::metadata(path)
    } else {
        std::fs::symlink_metadata(path)
    }
    .map_err(io)?;
    if meta.is_dir() {
        if depth >= MAX_DIR_DEPTH {
            return Ok(());
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io)?;
        entries.sort();
        for entry in entries {
            collect_files(&entry, depth + 1, false, out)?;
        }
    } else if named
        || is_manifest_name(path)
            && (meta.is_file() || std::fs::metadata(path).is_ok_and(|m| m.is_file()))
    {
        if out.len() >= MAX_FILES {
            return Err(ManifestError::TooManyFiles);
        }
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn is_manifest_name(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

fn read_documents(path: &Path) -> Result<Vec<Value>, ManifestError> {
    use std::io::Read as _;
    let io = |source| ManifestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_MANIFEST_FILE {
        return Err(ManifestError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| ManifestError::Parse {
        path: path.to_path_buf(),
        format: "UTF-8 text",
        message: e.to_string(),
    })?;
    if path.extension().is_some_and(|e| e == "json") {
        // JSON files may hold one value or a stream of them (`kubectl get -o json` per object).
        let mut out = Vec::new();
        for value in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
            out.push(value.map_err(|e| ManifestError::Parse {
                path: path.to_path_buf(),
                format: "JSON",
                message: e.to_string(),
            })?);
        }
        return Ok(out);
    }
    let mut budget = serde_saphyr::Budget::default();
    // A `kubectl get -o yaml` dump of a large cluster has millions of nodes; the budget's
    // other limits (aliases, depth, anchors) keep alias bombs and deep nesting out.
    budget.max_nodes = 50_000_000;
    budget.max_events = 100_000_000;
    budget.max_total_scalar_bytes = MAX_MANIFEST_FILE as usize;
    budget.max_documents = 100_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    let documents: Vec<Value> =
        serde_saphyr::from_multiple_with_options(&text, options).map_err(|e| {
            ManifestError::Parse {
                path: path.to_path_buf(),
                format: "YAML",
                message: e.to_string(),
            }
        })?;
    Ok(documents.into_iter().filter(|d| !d.is_null()).collect())
}

fn add_document(
    snapshot: &mut Snapshot,
    path: &Path,
    document: usize,
    value: Value,
    depth: usize,
) -> Result<(), ManifestError> {
    let problem = |problem: String| ManifestError::Document {
        path: path.to_path_buf(),
        document,
        problem,
    };
    let Value::Object(mut map) = value else {
        return Err(problem(
            "not an object (expected apiVersion, kind, metadata)".into(),
        ));
    };
    let kind = map
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let api_version = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if kind.is_empty() || api_version.is_empty() {
        return Err(problem("missing apiVersion or kind".into()));
    }
    if let Some(Value::Array(items)) = map.get_mut("items").filter(|_| kind.ends_with("List")) {
        if depth > 0 {
            return Err(problem("a List inside a List".into()));
        }
        for item in std::mem::take(items) {
            add_document(snapshot, path, document, item, depth + 1)?;
        }
        return Ok(());
    }
    let (group, _) = split_api_version(&api_version);
    let name = map
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if name.is_empty() {
        return Err(problem(format!("{kind} without metadata.name")));
    }
    match kinds::by_group_kind(group, &kind) {
        Some(spec) => {
            let mut object = Value::Object(map);
            slim(spec.plural, &mut object);
            snapshot
                .objects
                .entry(spec.plural.to_string())
                .or_default()
                .push(object);
        }
        None => snapshot
            .skipped
            .push(format!("{api_version} {kind} {name}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    const PLANTED: &str = "hunter2-planted-value";

    #[test]
    fn multi_document_lists_directories_and_secrets() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "app/all.yaml",
            &format!(
                "---\n# Source: chart/templates/deploy.yaml\napiVersion: apps/v1\nkind: Deployment\n\
                 metadata: {{name: web, namespace: shop}}\nspec: {{replicas: 2}}\n---\n\
                 apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\n  annotations:\n    \
                 kubectl.kubernetes.io/last-applied-configuration: '{{\"stringData\":{{\"p\":\"{PLANTED}\"}}}}'\n\
                 type: Opaque\nstringData: {{password: {PLANTED}}}\ndata: {{password: aHVudGVyMi1wbGFudGVkLXZhbHVl}}\n---\n\
                 apiVersion: example.com/v1\nkind: Widget\nmetadata: {{name: w}}\n---\n"
            ),
        );
        write(
            dir.path(),
            "list.json",
            r#"{"apiVersion":"v1","kind":"List","items":[
                {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"shop"},"spec":{"type":"LoadBalancer"}},
                {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg","namespace":"shop"},"data":{"k":"v-planted"}}]}"#,
        );
        write(dir.path(), "README.md", "not a manifest");
        let snap = from_manifests(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(snap.objects_of("deployments").len(), 1);
        assert_eq!(
            snap.objects_of("services")[0]["spec"]["type"],
            "LoadBalancer"
        );
        assert_eq!(snap.objects_of("secrets")[0]["type"], "Opaque");
        assert_eq!(snap.objects_of("configmaps").len(), 1);
        assert_eq!(snap.skipped, vec!["example.com/v1 Widget w".to_string()]);
        let json = snap.to_json();
        assert!(
            !json.contains(PLANTED)
                && !json.contains("aHVudGVyMi1wbGFudGVkLXZhbHVl")
                && !json.contains("v-planted")
        );
    }

    #[test]
    fn hostile_manifests_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "bomb.yaml",
                format!(
                    "a: &a [x,x,x,x,x,x,x,x,x,x]\n{}",
                    (1..30)
                        .map(|i| format!("b{i}: &b{i} [{}]\n", ["*a"; 10].join(",")))
                        .collect::<String>()
                ),
            ),
            (
                "deep.yaml",
                format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)),
            ),
            ("scalar.yaml", "just a string\n".to_string()),
            ("nokind.yaml", "metadata: {name: x}\n".to_string()),
            (
                "noname.yaml",
                "apiVersion: v1\nkind: Pod\nmetadata: {}\n".to_string(),
            ),
            ("broken.json", "{\"kind\": ".to_string()),
            (
                "badutf8.yaml",
                String::from_utf8_lossy(b"kind: \xff").into_owned() + "\u{0}",
            ),
            (
                "nested.yaml",
                "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: List, items: []}\n"
                    .to_string(),
            ),
        ];
        for (name, text) in cases {
            let path = write(dir.path(), name, &text);
            let err = from_manifests(std::slice::from_ref(&path))
                .expect_err(name)
                .to_string();
            assert!(err.contains(name), "{name}: {err}");
        }
        let missing = dir.path().join("nope.yaml");
        assert!(
            from_manifests(&[missing])
                .unwrap_err()
                .to_string()
                .contains("nope.yaml")
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Arbitrary text, YAML-ish or not, is a result, never a panic.
        #[test]
        fn arbitrary_manifests_never_panic(text in "(apiVersion: v1\n|kind: (Secret|List|Pod)\n|items:\n|- |  |&a |\\*a|---\n|[{}\\[\\],:\"'#!|>-]|[a-z0-9 ]|\n){0,200}") {
            let dir = tempfile::tempdir().unwrap();
            let yaml = write(dir.path(), "m.yaml", &text);
            let json = write(dir.path(), "m.json", &text);
            let _ = from_manifests(&[yaml, json]);
        }
    }

    #[cfg(unix)]
    #[test]
    fn directory_link_loops_end() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "a/pod.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n",
        );
        std::os::unix::fs::symlink(dir.path(), dir.path().join("a/loop")).unwrap();
        let snap = from_manifests(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(snap.objects_of("pods").len(), 1);
    }
}
