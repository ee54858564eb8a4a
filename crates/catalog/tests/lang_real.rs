//! The language catalogers against files the real package managers wrote
//! (`scripts/fixtures/lang`): wheels pip installed from PyPI, packages npm installed from
//! the registry, jars from Maven Central (and a fat jar holding some), Go binaries for
//! three object formats, a cargo-auditable binary. The fixture root is walked like an
//! image: every file goes through `lang::wants` and, if wanted, `lang::analyze`; the
//! packages found must equal what the tools themselves report, no more, no fewer.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crowsnest_catalog::lang;
use crowsnest_model::{Package, PackageKind};

fn fixtures() -> Option<PathBuf> {
    crowsnest_testbed::fixture("lang", "lang", "stamp")
}

/// Every package the catalogers find under `root`, and every file they could not read.
fn catalog(root: &Path) -> (Vec<Package>, Vec<String>) {
    let mut packages = Vec::new();
    let mut errors = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
                continue;
            }
            if !meta.is_file() {
                continue;
            }
            let image_path = format!("/{}", entry.path().strip_prefix(root).unwrap().display());
            if !lang::wants(&image_path, meta.len(), meta.permissions().mode() & 0o7777) {
                continue;
            }
            let mut file = std::fs::File::open(entry.path()).unwrap();
            match lang::analyze(&image_path, meta.len(), &mut file) {
                Ok(found) => packages.extend(found),
                Err(e) => errors.push(e),
            }
        }
    }
    (packages, errors)
}

fn of_kind(packages: &[Package], kind: PackageKind) -> BTreeSet<(String, String)> {
    packages
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect()
}

fn pep503(name: &str) -> String {
    lang::python::normalize_name(name)
}

/// `npm ls --all --json`: every (name, version) in the dependency tree.
fn npm_tree(node: &serde_json::Value, out: &mut BTreeSet<(String, String)>) {
    let Some(deps) = node.get("dependencies").and_then(|d| d.as_object()) else {
        return;
    };
    for (name, dep) in deps {
        let version = dep["version"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no version in npm ls"));
        out.insert((name.clone(), version.to_string()));
        npm_tree(dep, out);
    }
}

/// `go version -m`: the toolchain line, then `mod`/`dep` lines with `=>` replacements.
fn go_truth(text: &str) -> BTreeSet<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut lines = text.lines();
    let toolchain = lines.next().unwrap().rsplit(": ").next().unwrap();
    for line in lines {
        let fields: Vec<&str> = line.trim_start_matches('\t').split('\t').collect();
        match fields[0] {
            "mod" | "dep" => out.push((fields[1].to_string(), fields[2].to_string())),
            "=>" => *out.last_mut().unwrap() = (fields[1].to_string(), fields[2].to_string()),
            _ => {}
        }
    }
    let release = toolchain.strip_prefix("go").unwrap();
    out.push(("stdlib".to_string(), format!("v{release}")));
    out.into_iter().collect()
}

#[test]
fn language_packages_match_the_package_managers() {
    let Some(dir) = fixtures() else { return };
    let truth = dir.join("truth");
    let (packages, errors) = catalog(&dir.join("root"));
    assert!(errors.is_empty(), "unreadable files: {errors:#?}");

    // Python: pip's own listing, compared by PEP 503 name.
    let pip: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(truth.join("pip.json")).unwrap()).unwrap();
    let want: BTreeSet<_> = pip
        .iter()
        .map(|p| {
            (
                pep503(p["name"].as_str().unwrap()),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let got: BTreeSet<_> = of_kind(&packages, PackageKind::Python)
        .into_iter()
        .map(|(n, v)| (pep503(&n), v))
        .collect();
    assert_eq!(got, want, "python");
    assert!(
        packages
            .iter()
            .any(|p| p.purl == "pkg:pypi/zope-interface@6.1")
    );

    // npm: the whole tree npm ls reports.
    let npm: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(truth.join("npm.json")).unwrap()).unwrap();
    let mut want = BTreeSet::new();
    npm_tree(&npm, &mut want);
    assert!(want.len() > 40, "express brings a tree: {}", want.len());
    assert_eq!(of_kind(&packages, PackageKind::Npm), want, "npm");

    // Maven: coordinates and where each jar sits (nested ones as OUTER!/INNER).
    let want = maven_truth(&truth.join("maven.tsv"));
    let got: BTreeSet<_> = packages
        .iter()
        .filter(|p| p.kind == PackageKind::Maven)
        .map(|p| (p.name.clone(), p.version.clone(), p.evidence[0].clone()))
        .collect();
    assert_eq!(got, want, "maven");

    // Go: the same modules in the ELF, PE and Mach-O builds.
    let go: Vec<&Package> = packages
        .iter()
        .filter(|p| p.kind == PackageKind::Go)
        .collect();
    for bin in ["goapp", "goapp.exe", "goapp-darwin"] {
        let want = go_truth(&std::fs::read_to_string(truth.join(format!("go-{bin}.txt"))).unwrap());
        let evidence = format!("/app/bin/{bin}");
        let got: BTreeSet<_> = go
            .iter()
            .filter(|p| p.evidence[0] == evidence)
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        assert_eq!(got, want, "go {bin}");
    }

    // Rust: every non-local crate rust-audit-info decodes.
    let audit: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(truth.join("cargo.json")).unwrap()).unwrap();
    let want: BTreeSet<_> = audit["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["source"] != "local")
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(want.contains(&("smallvec".to_string(), "1.6.0".to_string())));
    assert_eq!(of_kind(&packages, PackageKind::Cargo), want, "cargo");
}

/// A real Spring Boot application as Maven resolved it (scripts/fixtures/java): a fat jar
/// and a plain lib/ directory, most jars without pom.properties. Every jar is named as
/// `mvn dependency:list` names it, at its path (nested ones as OUTER!/INNER). Those with
/// pom.properties are declared; the others (Spring, Tomcat embed, h2, bcprov, micrometer)
/// carry the evidence that named each coordinate and their SHA-1, and the
/// Spring4Shell-affected spring-beans is named with high confidence.
#[test]
fn java_application_is_named_as_maven_resolved_it() {
    let Some(dir) = crowsnest_testbed::fixture("java", "java", "stamp") else {
        return;
    };
    let (packages, errors) = catalog(&dir.join("root"));
    assert!(errors.is_empty(), "unreadable files: {errors:#?}");
    let want = maven_truth(&dir.join("truth/java-app.tsv"));
    assert!(want.len() > 70, "{} jars", want.len());
    let got: BTreeSet<_> = packages
        .iter()
        .filter(|p| p.kind == PackageKind::Maven)
        .map(|p| (p.name.clone(), p.version.clone(), p.evidence[0].clone()))
        .collect();
    assert_eq!(got, want, "maven");

    let app: Vec<&Package> = packages.iter().collect();
    let inferred: Vec<&&Package> = app.iter().filter(|p| p.identity.is_some()).collect();
    assert!(inferred.len() >= 40, "{} inferred", inferred.len());
    assert!(
        app.iter().any(|p| p.identity.is_none()),
        "jackson & co declare theirs"
    );
    for p in &inferred {
        let identity = p.identity.as_ref().unwrap();
        assert!(identity.is_inferred(), "{}", p.name);
        assert_eq!(
            identity.sha1.as_deref().map(str::len),
            Some(40),
            "{}",
            p.name
        );
        assert_eq!(
            identity.evidence.len(),
            3,
            "{}: {}",
            p.name,
            identity.describe()
        );
    }
    let beans = app
        .iter()
        .find(|p| p.evidence[0] == "/opt/java-app/lib/spring-beans-5.3.17.jar")
        .unwrap();
    let identity = beans.identity.as_ref().unwrap();
    assert_eq!(identity.confidence, crowsnest_model::Confidence::High);
    assert_eq!(
        identity.describe(),
        "groupId=known-artifact table, artifactId=file name and Implementation-Title, version=file name and Implementation-Version"
    );
    // The SHA-1 is the file's, as Maven Central lists it.
    let bytes = std::fs::read(dir.join("root/opt/java-app/lib/spring-beans-5.3.17.jar")).unwrap();
    assert_eq!(identity.sha1.as_deref(), Some(sha1_hex(&bytes).as_str()));
}

/// `groupId:artifactId<TAB>version<TAB>path` lines, as the fixture builders write them.
fn maven_truth(file: &Path) -> BTreeSet<(String, String, String)> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_string(), f[1].to_string(), f[2].to_string())
        })
        .collect()
}

fn sha1_hex(bytes: &[u8]) -> String {
    let out = Command::new("sha1sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(bytes)?;
            child.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap()[..40].to_string()
}

#[test]
fn corrupt_go_build_info_in_a_real_binary_is_an_error() {
    let Some(dir) = fixtures() else { return };
    let mut bytes = std::fs::read(dir.join("root/app/bin/goapp")).unwrap();
    let magic = b"\xff Go buildinf:";
    let at = bytes.windows(magic.len()).position(|w| w == magic).unwrap();
    // Make the version string's length run past the section.
    bytes[at + 32] = 0xff;
    bytes[at + 33] = 0xff;
    bytes[at + 34] = 0x7f;
    let err =
        lang::analyze("/app/bin/goapp", bytes.len() as u64, &mut bytes.as_slice()).unwrap_err();
    assert!(err.starts_with("/app/bin/goapp: Go build info"), "{err}");
}

/// Two builds of the fixtures started together (as two tests of this file once did) both
/// succeed and publish one complete fixture: the builder takes a lock per output directory
/// and renames the finished build into place. Built into a scratch directory so the shared
/// fixture is not rebuilt; downloads come from the shared cache.
#[test]
fn the_fixture_builder_is_safe_to_run_twice_at_once() {
    let Some(shared) = fixtures() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("lang");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fixtures/lang");
    let start = || {
        Command::new("bash")
            .arg(&script)
            .env("CROWSNEST_LANG_FIXTURES", &out)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("bash runs the fixture builder")
    };
    let (mut first, mut second) = (start(), start());
    assert!(first.wait().unwrap().success(), "the first build failed");
    assert!(second.wait().unwrap().success(), "the second build failed");

    assert_eq!(
        std::fs::read_to_string(out.join("stamp")).unwrap(),
        std::fs::read_to_string(shared.join("stamp")).unwrap(),
        "the finished build carries the recipe's stamp"
    );
    let files = |dir: &Path| -> BTreeSet<PathBuf> {
        walk_files(dir)
            .into_iter()
            .map(|p| p.strip_prefix(dir).unwrap().to_path_buf())
            .collect()
    };
    assert_eq!(
        files(&out),
        files(&shared),
        "every file of the fixture is there"
    );
    // Ground truth that does not depend on where the fixture was built is identical.
    for truth in ["pip.json", "npm.json", "maven.tsv", "cargo.json"] {
        assert_eq!(
            std::fs::read(out.join("truth").join(truth)).unwrap(),
            std::fs::read(shared.join("truth").join(truth)).unwrap(),
            "truth/{truth}"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(scratch.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "lang" && name != "lang.lock")
        .collect();
    assert!(leftovers.is_empty(), "scratch left behind: {leftovers:?}");
}

/// Every regular file and symlink below `dir`.
fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                found.push(entry.path());
            }
        }
    }
    found
}
