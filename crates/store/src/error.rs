//! The store's one error type.

/// Everything that can go wrong in the store. Messages name the object involved (a
/// digest, a job id, a table row) so an operator can find it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the SQLite store at {path}: {source}")]
    OpenSqlite {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("database URL {url} is not usable: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot connect to PostgreSQL at {url}: {source}")]
    Connect {
        /// The URL with its password removed.
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("SQLite failed while {context}: {source}")]
    Sqlite {
        context: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("PostgreSQL failed while {context}: {source}")]
    Postgres {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored row does not decode: the database was edited by hand, written by a
    /// broken build, or damaged.
    #[error("stored {object} is malformed: {reason}")]
    Corrupt { object: String, reason: String },
    #[error(
        "the store's schema is at version {found}, newer than this build knows ({known}): \
         upgrade crowsnest before using this database"
    )]
    SchemaTooNew { found: i64, known: i64 },
    /// The job's lease expired and another worker took it, or the job was finished by
    /// someone else: the caller must stop working on it.
    #[error("lease on job {job_id} (attempt {attempt}, worker {worker}) is no longer held")]
    LeaseLost {
        job_id: i64,
        attempt: i64,
        worker: String,
    },
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    #[error("store worker thread failed: {0}")]
    Task(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    pub(crate) fn corrupt(object: impl Into<String>, reason: impl ToString) -> StoreError {
        StoreError::Corrupt {
            object: object.into(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn sqlite(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> StoreError {
        let context = context.into();
        move |source| StoreError::Sqlite { context, source }
    }

    pub(crate) fn postgres<E: std::error::Error + Send + Sync + 'static>(
        context: impl Into<String>,
    ) -> impl FnOnce(E) -> StoreError {
        let context = context.into();
        move |source| StoreError::Postgres {
            context,
            source: Box::new(source),
        }
    }
}
