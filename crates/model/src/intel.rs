//! Exploitation intelligence attached to a CVE: CISA KEV, FIRST EPSS and Exploit-DB.
//!
//! The feeds crate fills these from its local database; the matcher reads them to build a
//! finding's exploitability block and its priority without depending on the feeds crate.

use serde::{Deserialize, Serialize};

/// One entry of CISA's Known Exploited Vulnerabilities catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevEntry {
    pub cve: String,
    pub vendor_project: String,
    pub product: String,
    pub vulnerability_name: String,
    /// `YYYY-MM-DD`, as the catalog states it.
    pub date_added: String,
    /// `YYYY-MM-DD`: the remediation deadline for US federal agencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// True only when the catalog says `Known`; `Unknown` means "not known", not "no".
    pub known_ransomware_campaign_use: bool,
}

/// FIRST's Exploit Prediction Scoring System score for one CVE.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpssScore {
    pub cve: String,
    /// Probability of exploitation activity in the next 30 days, 0.0 to 1.0.
    pub epss: f64,
    /// Rank of this score among all scored CVEs, 0.0 to 1.0.
    pub percentile: f64,
    /// From the file's `#model_version:...,score_date:...` line when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_date: Option<String>,
}

/// A public exploit from Exploit-DB that names a CVE in its codes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exploit {
    pub cve: String,
    /// Exploit-DB's numeric id (EDB-ID).
    pub edb_id: u64,
    pub description: String,
    /// Exploit-DB's type: `remote`, `local`, `webapps`, `dos`, ...
    pub kind: String,
    pub platform: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_published: Option<String>,
    /// Whether Exploit-DB verified the exploit.
    pub verified: bool,
    /// The exploit's page: `https://www.exploit-db.com/exploits/<edb_id>`.
    pub url: String,
}
