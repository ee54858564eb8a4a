//! Registry credentials: explicit (`--creds`, `--password-stdin`), or looked up the way
//! docker, podman and skopeo do (`--authfile`, `$REGISTRY_AUTH_FILE`,
//! `$DOCKER_CONFIG/config.json`, `~/.docker/config.json`, with `credHelpers` and
//! `credsStore`).

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;

/// A username and secret. Never printed: `Debug` and `Display` redact the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    secret: String,
}

impl Credentials {
    pub fn new(username: impl Into<String>, secret: impl Into<String>) -> Credentials {
        Credentials {
            username: username.into(),
            secret: secret.into(),
        }
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Parses `USER:PASS` as given to `--creds`.
    pub fn from_creds_arg(arg: &str) -> Result<Credentials, CredentialsError> {
        match arg.split_once(':') {
            Some((u, p)) if !u.is_empty() => Ok(Credentials::new(u, p)),
            _ => Err(CredentialsError::BadCredsArg),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credentials {{ username: {:?}, secret: <redacted> }}",
            self.username
        )
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:<redacted>", self.username)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("--creds takes USERNAME:PASSWORD")]
    BadCredsArg,
    #[error("reading auth file {path}: {reason}")]
    AuthFile { path: PathBuf, reason: String },
    #[error("credential helper docker-credential-{helper} failed for {registry}: {reason}")]
    Helper {
        helper: String,
        registry: String,
        reason: String,
    },
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AuthConfigFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// Where to look for stored credentials.
#[derive(Clone, Debug, Default)]
pub struct AuthFileLookup {
    /// `--authfile`: used alone when given.
    pub authfile: Option<PathBuf>,
}

impl AuthFileLookup {
    /// The auth files consulted, most specific first.
    pub fn candidates(&self) -> Vec<PathBuf> {
        if let Some(p) = &self.authfile {
            return vec![p.clone()];
        }
        let mut out = Vec::new();
        if let Ok(p) = std::env::var("REGISTRY_AUTH_FILE") {
            out.push(PathBuf::from(p));
        }
        if let Ok(dir) = std::env::var("DOCKER_CONFIG") {
            out.push(Path::new(&dir).join("config.json"));
        } else if let Some(home) = std::env::var_os("HOME") {
            out.push(Path::new(&home).join(".docker/config.json"));
        }
        out
    }

    /// Finds credentials for `registry` (`docker.io`, `localhost:5000`).
    pub fn lookup(&self, registry: &str) -> Result<Option<Credentials>, CredentialsError> {
        for path in self.candidates() {
            let text = match std::fs::read(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.authfile.is_none() => {
                    continue;
                }
                Err(e) => {
                    return Err(CredentialsError::AuthFile {
                        path,
                        reason: e.to_string(),
                    });
                }
            };
            let file: AuthConfigFile =
                serde_json::from_slice(&text).map_err(|e| CredentialsError::AuthFile {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            if let Some(found) = from_file(&file, registry, &path)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}

/// The keys a registry may be stored under in an auth file.
fn keys_for(registry: &str) -> Vec<String> {
    let mut keys = vec![
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
        format!("https://{registry}/v1/"),
        format!("https://{registry}/v2/"),
    ];
    if registry == crate::reference::DOCKER_HUB {
        keys.extend(
            [
                "https://index.docker.io/v1/",
                "index.docker.io",
                "registry-1.docker.io",
            ]
            .into_iter()
            .map(String::from),
        );
    }
    keys
}

fn from_file(
    file: &AuthConfigFile,
    registry: &str,
    path: &Path,
) -> Result<Option<Credentials>, CredentialsError> {
    let keys = keys_for(registry);
    if let Some(helper) = keys.iter().find_map(|k| file.cred_helpers.get(k)) {
        return run_helper(helper, registry).map(Some);
    }
    if let Some(entry) = keys.iter().find_map(|k| file.auths.get(k)) {
        if let Some(token) = &entry.identitytoken {
            return Ok(Some(Credentials::new("<token>", token.clone())));
        }
        if let (Some(u), Some(p)) = (&entry.username, &entry.password) {
            return Ok(Some(Credentials::new(u.clone(), p.clone())));
        }
        if let Some(auth) = &entry.auth {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| CredentialsError::AuthFile {
                    path: path.to_path_buf(),
                    reason: format!("the auth entry for {registry} is not base64 of USER:PASSWORD"),
                })?;
            return Credentials::from_creds_arg(&decoded)
                .map(Some)
                .map_err(|_| CredentialsError::AuthFile {
                    path: path.to_path_buf(),
                    reason: format!("the auth entry for {registry} is not USER:PASSWORD"),
                });
        }
        if file.creds_store.is_none() {
            return Ok(None);
        }
    }
    match &file.creds_store {
        Some(store) => run_helper(store, registry).map(Some),
        None => Ok(None),
    }
}

/// Runs `docker-credential-<helper> get` with the registry on stdin, per the
/// docker-credential-helpers protocol.
fn run_helper(helper: &str, registry: &str) -> Result<Credentials, CredentialsError> {
    if !helper
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
    {
        return Err(CredentialsError::Helper {
            helper: helper.to_string(),
            registry: registry.to_string(),
            reason: "helper name has unexpected characters".into(),
        });
    }
    run_helper_program(
        Path::new(&format!("docker-credential-{helper}")),
        helper,
        registry,
    )
}

fn run_helper_program(
    program: &Path,
    helper: &str,
    registry: &str,
) -> Result<Credentials, CredentialsError> {
    let fail = |reason: String| CredentialsError::Helper {
        helper: helper.to_string(),
        registry: registry.to_string(),
        reason,
    };
    let server = if registry == crate::reference::DOCKER_HUB {
        "https://index.docker.io/v1/".to_string()
    } else {
        registry.to_string()
    };
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .map_err(|e| fail(e.to_string()))?;
    }
    // A helper that hangs (waiting on a keyring prompt, say) must not hang a scan.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match child.try_wait().map_err(|e| fail(e.to_string()))? {
            Some(_) => break,
            None if std::time::Instant::now() > deadline => {
                let _ = child.kill();
                return Err(fail("timed out after 30 s".into()));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stdout);
        return Err(fail(format!("exit {}: {}", out.status, msg.trim())));
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct HelperReply {
        username: String,
        secret: String,
    }
    let reply: HelperReply =
        serde_json::from_slice(&out.stdout).map_err(|e| fail(format!("bad reply: {e}")))?;
    Ok(Credentials::new(reply.username, reply.secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup_in(json: &str, registry: &str) -> Result<Option<Credentials>, CredentialsError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("auth.json");
        std::fs::write(&p, json).unwrap();
        AuthFileLookup { authfile: Some(p) }.lookup(registry)
    }

    #[test]
    fn reads_auths_in_their_usual_spellings() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
        let json = format!(
            r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{b64}"}},"localhost:5000":{{"auth":"{b64}"}}}}}}"#
        );
        let c = lookup_in(&json, "docker.io").unwrap().unwrap();
        assert_eq!((c.username.as_str(), c.secret()), ("alice", "s3cret"));
        assert!(lookup_in(&json, "localhost:5000").unwrap().is_some());
        assert!(lookup_in(&json, "ghcr.io").unwrap().is_none());
    }

    #[test]
    fn secrets_never_print() {
        let c = Credentials::new("bob", "hunter2");
        assert!(!format!("{c:?} {c}").contains("hunter2"));
    }

    #[test]
    fn bad_files_and_entries_are_clear_errors() {
        assert!(matches!(
            lookup_in("{not json", "x.io"),
            Err(CredentialsError::AuthFile { .. })
        ));
        let err = lookup_in(r#"{"auths":{"x.io":{"auth":"%%%"}}}"#, "x.io").unwrap_err();
        assert!(err.to_string().contains("not base64"), "{err}");
        assert!(matches!(
            Credentials::from_creds_arg("nopass"),
            Err(CredentialsError::BadCredsArg)
        ));
    }

    #[test]
    fn cred_helpers_run_the_real_protocol() {
        // A real executable speaking the docker-credential-helpers protocol on PATH.
        let dir = tempfile::tempdir().unwrap();
        let helper = dir.path().join("docker-credential-crowsnest-test");
        std::fs::write(
            &helper,
            "#!/bin/sh\nread server\n[ \"$1\" = get ] || exit 3\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"helper-user\",\"Secret\":\"from-%s\"}' \"$server\" \"$server\"\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let c = run_helper_program(&helper, "crowsnest-test", "reg.example:5000").unwrap();
        assert_eq!(
            (c.username.as_str(), c.secret()),
            ("helper-user", "from-reg.example:5000")
        );
        // The auth file names the helper; a missing helper is a clear error.
        let missing: AuthConfigFile =
            serde_json::from_str(r#"{"credsStore":"does-not-exist"}"#).unwrap();
        assert!(matches!(
            from_file(&missing, "a.io", Path::new("x")),
            Err(CredentialsError::Helper { .. })
        ));
    }
}
