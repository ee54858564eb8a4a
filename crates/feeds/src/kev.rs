//! CISA's Known Exploited Vulnerabilities catalog (JSON).

use crowsnest_model::intel::KevEntry;
use serde::Deserialize;

use crate::limits::BadRecords;

#[derive(Debug, thiserror::Error)]
pub enum KevError {
    #[error("invalid KEV catalog JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the catalog says it holds {declared} vulnerabilities but lists {listed}")]
    CountMismatch { declared: u64, listed: usize },
}

#[derive(Debug, Default)]
pub struct KevCatalog {
    pub catalog_version: Option<String>,
    pub entries: Vec<KevEntry>,
    pub bad: BadRecords,
}

#[derive(Deserialize)]
struct RawCatalog {
    #[serde(rename = "catalogVersion")]
    catalog_version: Option<String>,
    count: Option<u64>,
    vulnerabilities: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    #[serde(rename = "cveID")]
    cve_id: String,
    #[serde(default)]
    vendor_project: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    vulnerability_name: String,
    date_added: String,
    #[serde(default)]
    due_date: Option<String>,
    #[serde(default)]
    known_ransomware_campaign_use: Option<String>,
}

/// Parses the catalog. An entry without a well-formed CVE id or date is a bad record;
/// invalid JSON or a catalog whose `count` disagrees with its list fails the feed.
pub fn parse_kev(bytes: &[u8]) -> Result<KevCatalog, KevError> {
    let raw: RawCatalog = serde_json::from_slice(bytes)?;
    if let Some(declared) = raw.count
        && declared != raw.vulnerabilities.len() as u64
    {
        return Err(KevError::CountMismatch {
            declared,
            listed: raw.vulnerabilities.len(),
        });
    }
    let mut catalog = KevCatalog {
        catalog_version: raw.catalog_version,
        ..KevCatalog::default()
    };
    for (i, value) in raw.vulnerabilities.into_iter().enumerate() {
        let name = value
            .get("cveID")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("vulnerabilities[{i}]"));
        match entry(value) {
            Ok(e) => catalog.entries.push(e),
            Err(reason) => catalog.bad.push(&name, &reason),
        }
    }
    Ok(catalog)
}

fn entry(value: serde_json::Value) -> Result<KevEntry, String> {
    let raw: RawEntry = serde_json::from_value(value).map_err(|e| e.to_string())?;
    if !is_cve_id(&raw.cve_id) {
        return Err(format!("not a CVE id: {:?}", raw.cve_id));
    }
    if !is_date(&raw.date_added) {
        return Err(format!("dateAdded is not YYYY-MM-DD: {:?}", raw.date_added));
    }
    let due_date = match raw.due_date {
        Some(d) if is_date(&d) => Some(d),
        Some(d) if d.is_empty() => None,
        Some(d) => return Err(format!("dueDate is not YYYY-MM-DD: {d:?}")),
        None => None,
    };
    Ok(KevEntry {
        cve: raw.cve_id,
        vendor_project: raw.vendor_project,
        product: raw.product,
        vulnerability_name: raw.vulnerability_name,
        date_added: raw.date_added,
        due_date,
        known_ransomware_campaign_use: raw
            .known_ransomware_campaign_use
            .is_some_and(|v| v.eq_ignore_ascii_case("known")),
    })
}

/// `CVE-YYYY-NNNN...` (four or more digits in the sequence, as the CVE format allows).
pub fn is_cve_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, seq)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && (4..=19).contains(&seq.len())
        && seq.bytes().all(|b| b.is_ascii_digit())
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries_and_ransomware_flag() {
        let json = br#"{"catalogVersion":"2025.08.25","count":3,"vulnerabilities":[
          {"cveID":"CVE-2021-44228","vendorProject":"Apache","product":"Log4j2","vulnerabilityName":"Log4Shell",
           "dateAdded":"2021-12-10","dueDate":"2021-12-24","knownRansomwareCampaignUse":"Known"},
          {"cveID":"CVE-2020-1234","dateAdded":"2022-01-01","knownRansomwareCampaignUse":"Unknown"},
          {"cveID":"not-a-cve","dateAdded":"2022-01-01"}]}"#;
        let cat = parse_kev(json).unwrap();
        assert_eq!(cat.catalog_version.as_deref(), Some("2025.08.25"));
        assert_eq!(cat.entries.len(), 2);
        assert!(cat.entries[0].known_ransomware_campaign_use);
        assert_eq!(cat.entries[0].due_date.as_deref(), Some("2021-12-24"));
        assert!(!cat.entries[1].known_ransomware_campaign_use);
        assert_eq!(cat.bad.count, 1);
        assert!(cat.bad.examples[0].starts_with("not-a-cve: not a CVE id"));
    }

    #[test]
    fn hostile_catalogs_fail_cleanly() {
        assert!(parse_kev(b"").is_err());
        assert!(parse_kev(b"{\"vulnerabilities\": [").is_err());
        assert!(parse_kev(b"[]").is_err());
        let err = parse_kev(br#"{"count": 2, "vulnerabilities": []}"#).unwrap_err();
        assert!(err.to_string().contains("holds 2"), "{err}");
        let bad_date =
            br#"{"vulnerabilities":[{"cveID":"CVE-2020-1234","dateAdded":"yesterday"}]}"#;
        assert_eq!(parse_kev(bad_date).unwrap().bad.count, 1);
    }

    #[test]
    fn cve_ids() {
        assert!(is_cve_id("CVE-2021-44228"));
        assert!(is_cve_id("CVE-1999-0001"));
        assert!(!is_cve_id("CVE-2021-1"));
        assert!(!is_cve_id("CVE-21-12345"));
        assert!(!is_cve_id("GHSA-xxxx"));
        assert!(!is_cve_id("CVE-2021-4422８"));
    }
}
