//! Assessments and sub-assessments shaped after Microsoft Defender for Cloud's
//! container registry vulnerability assessment: one assessment per image (status
//! `Healthy`, `Unhealthy` or `NotApplicable`), one sub-assessment per finding with
//! `additionalData` holding `artifactDetails`, `softwareDetails` (with `fixStatus`,
//! `fixedVersion`) and `vulnerabilityDetails` (with `exploitabilityAssessment`), so
//! tooling written against Defender's export reads these with the same field names.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use crowsnest_model::Severity;
use crowsnest_model::finding::{Finding, FixStatus};
use crowsnest_store::{FindingQuery, ImageDetails, ImageQuery, ImageSummary, Store};
use serde_json::{Value, json};

use crate::ApiState;
use crate::error::{HttpError, HttpResult};
use crate::handlers::{FINDING_PARAMS, finding_query, page_response, parse_digest, rfc3339};
use crate::params::Params;

pub const DISPLAY_NAME: &str =
    "Container registry images should have vulnerability findings resolved";

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
        Severity::Negligible => "Negligible",
        Severity::Unknown => "Unknown",
    }
}

fn assessment_json(image: &ImageSummary) -> Value {
    let digest = image.digest.to_string();
    let (code, description) = match image.findings {
        None => (
            "NotApplicable",
            "the image has not been assessed yet".to_string(),
        ),
        Some(0) => ("Healthy", "no vulnerability findings".to_string()),
        Some(n) => ("Unhealthy", format!("{n} vulnerability findings")),
    };
    json!({
        "id": format!("/api/v1/assessments/{digest}"),
        "name": digest,
        "displayName": DISPLAY_NAME,
        "status": {"code": code, "description": description},
        "resourceDetails": {"source": "Crowsnest", "id": digest, "digest": digest},
        "timeGenerated": image.assessed.map(rfc3339),
        "additionalData": {
            "findings": image.findings,
            "subAssessmentsLink": format!("/api/v1/assessments/{digest}/subAssessments"),
        },
    })
}

pub(crate) async fn assessments(
    State(state): State<ApiState>,
    RawQuery(q): RawQuery,
) -> HttpResult<Response> {
    let p = Params::parse(q.as_deref(), &["limit", "cursor"])?;
    let page = state
        .store()
        .images(&ImageQuery {
            after: p.cursor("assessments")?,
            limit: p.limit()?,
            ..Default::default()
        })
        .await?;
    let items = page.items.iter().map(assessment_json).collect();
    Ok(page_response(
        "/api/v1/assessments",
        q.as_deref(),
        "assessments",
        items,
        page.next,
    ))
}

pub(crate) async fn assessment(
    State(state): State<ApiState>,
    Path(digest): Path<String>,
    RawQuery(q): RawQuery,
) -> HttpResult<axum::Json<Value>> {
    Params::parse(q.as_deref(), &[])?;
    let digest = parse_digest(&digest)?;
    let store = state.store();
    if store.image(&digest).await?.is_none() {
        return Err(HttpError::not_found(format!("no image {digest}")));
    }
    let assessment = store.assessment(&digest).await?;
    let summary = ImageSummary {
        digest: digest.clone(),
        media_type: String::new(),
        platform: None,
        created: None,
        first_seen: time::OffsetDateTime::UNIX_EPOCH,
        last_pushed: None,
        repositories: 0,
        findings: assessment.as_ref().map(|a| a.findings.len() as u64),
        assessed: assessment.as_ref().map(|a| a.assessed),
    };
    Ok(axum::Json(assessment_json(&summary)))
}

fn artifact_details(image: &ImageDetails) -> Value {
    let location = image.locations.first();
    let host = location.map(|l| {
        l.registry_url
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string()
    });
    json!({
        "registryHost": host,
        "repositoryName": location.map(|l| &l.repository),
        "digest": image.digest,
        "tags": location.map(|l| l.tags.clone()).unwrap_or_default(),
        "lastPushedToRegistryUTC": location.and_then(|l| l.pushed).map(rfc3339),
        "artifactType": "ContainerImage",
        "mediaType": image.media_type,
    })
}

fn fix_status_name(f: FixStatus) -> &'static str {
    f.as_str()
}

pub(crate) fn sub_assessment(image: &ImageDetails, f: &Finding) -> Value {
    let digest = image.digest.to_string();
    let fixed = f.fixed_versions.last();
    let remediation = match fixed {
        Some(v) => format!("Upgrade {} to {v} or later", f.package.name),
        None => format!("No fixed version of {} is known yet", f.package.name),
    };
    let cvss = f
        .cvss
        .as_ref()
        .map(|c| json!({c.version.clone(): {"base": c.base_score, "cvssVectorString": c.vector}}));
    json!({
        "id": format!("/api/v1/assessments/{digest}/subAssessments/{}", f.id),
        "name": f.id,
        "displayName": f.id,
        "status": {
            "code": "Unhealthy",
            "severity": severity_name(f.severity),
            "description": f.summary,
        },
        "remediation": remediation,
        "description": f.summary,
        "resourceDetails": {"source": "Crowsnest", "id": digest},
        "additionalData": {
            "assessedResourceType": "ContainerRegistryVulnerability",
            "artifactDetails": artifact_details(image),
            "softwareDetails": {
                "packageName": f.package.name,
                "version": f.package.version,
                "category": if f.package.kind.is_os() { "OS" } else { "Language" },
                "language": (!f.package.kind.is_os()).then(|| f.package.kind.as_str()),
                "ecosystem": f.package.ecosystem,
                "purl": f.package.purl,
                "fixStatus": fix_status_name(f.fix_status),
                "fixedVersion": fixed,
                "evidence": {"layer": f.package.layer},
            },
            "vulnerabilityDetails": {
                "cveId": f.id,
                "aliases": f.aliases,
                "severity": severity_name(f.severity),
                "cvss": cvss,
                "references": f.references,
                "exploitabilityAssessment": {
                    "exploitStepsVerified": f.exploitability.in_kev,
                    "exploitStepsPublished": f.exploitability.exploit_published,
                    "isInExploitKit": f.exploitability.in_kev,
                    "types": f.exploitability.exploit_types,
                    "exploitUris": f.exploitability.exploit_uris,
                },
                "kev": f.exploitability.kev,
                "epss": f.exploitability.epss,
            },
            "priority": f.priority,
        },
    })
}

pub(crate) async fn sub_assessments(
    State(state): State<ApiState>,
    Path(digest): Path<String>,
    RawQuery(q): RawQuery,
) -> HttpResult<Response> {
    let p = Params::parse(q.as_deref(), FINDING_PARAMS)?;
    let digest = parse_digest(&digest)?;
    if p.text("image").is_some() {
        return Err(HttpError::bad_request(
            "the image is given by the path here",
        ));
    }
    let store = state.store();
    let Some(image) = store.image(&digest).await? else {
        return Err(HttpError::not_found(format!("no image {digest}")));
    };
    let query = FindingQuery {
        digest: Some(digest.clone()),
        ..finding_query(&p)?
    };
    let page = store.findings(&query).await?;
    let items = page
        .items
        .iter()
        .map(|f| sub_assessment(&image, &f.finding))
        .collect();
    let path = format!("/api/v1/assessments/{digest}/subAssessments");
    Ok(page_response(
        &path,
        q.as_deref(),
        "findings",
        items,
        page.next,
    ))
}
