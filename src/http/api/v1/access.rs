//! The policy decision endpoint in the OpenID AuthZEN Authorization API 1.0 shapes
//! (§6 Access Evaluation API, §7 Access Evaluations API): may this subject call this
//! API endpoint with this method? Decisions come from the host's in-memory snapshot
//! (`domain::policy`, `http::policy_cache`); see `docs/policy.md`.
//!
//! Tessera's vocabulary in AuthZEN's shapes:
//! - `subject`: `{"type": "user", "id": USER_ID}` for a member of the host, with the
//!   assignments in effect today; or with `"properties": {"token": ACCESS_TOKEN}`, a
//!   Tessera access token whose claims are used as they are (no database read). The
//!   token must verify, be of the caller's host and name the same user.
//! - `resource`: `{"type": "api_endpoint", "id": PATH}`, the request path (matched
//!   against the host's endpoint templates) or a template itself.
//! - `action`: `{"name": METHOD}`, the HTTP method.
//!
//! A decision is `{"decision": bool, "context": {"reason": …}}`; a request that cannot
//! be read is a 400 of the management API's error shape.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::bad;
use crate::domain::date::iso_date;
use crate::domain::policy::{PolicySnapshot, Reason, Subject};
use crate::http::error::V1Error;
use crate::http::extract::{ApiJson, PolicyCaller};
use crate::http::state::AppState;
use crate::oauth::bearer;

/// The most evaluations one batch request may ask for.
const MAX_EVALUATIONS: usize = 1000;

/// AuthZEN's subject.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub(super) struct SubjectRequest {
    /// `user`.
    #[serde(rename = "type")]
    kind: String,
    /// The user's id.
    id: String,
    /// `token`: a Tessera access token of the user, whose claims are used.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    properties: Option<Map<String, Value>>,
}

/// AuthZEN's resource.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub(super) struct ResourceRequest {
    /// `api_endpoint`.
    #[serde(rename = "type")]
    kind: String,
    /// The request path (`/orders/42`) or an endpoint's template.
    id: String,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    #[allow(dead_code)] // accepted as AuthZEN allows, not used
    properties: Option<Map<String, Value>>,
}

/// AuthZEN's action.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub(super) struct ActionRequest {
    /// The HTTP method.
    name: String,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    #[allow(dead_code)] // accepted as AuthZEN allows, not used
    properties: Option<Map<String, Value>>,
}

/// `POST /api/v1/access/evaluation` (AuthZEN §6.1).
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct EvaluationRequest {
    subject: SubjectRequest,
    resource: ResourceRequest,
    action: ActionRequest,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    #[allow(dead_code)] // accepted as AuthZEN allows, not used
    context: Option<Value>,
}

/// One evaluation of a batch: what it gives overrides the request's defaults
/// (AuthZEN §7.1).
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct BatchItem {
    subject: Option<SubjectRequest>,
    resource: Option<ResourceRequest>,
    action: Option<ActionRequest>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    #[allow(dead_code)] // accepted as AuthZEN allows, not used
    context: Option<Value>,
}

/// How a batch is evaluated (AuthZEN §7.1.2).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum Semantic {
    #[default]
    ExecuteAll,
    DenyOnFirstDeny,
    PermitOnFirstPermit,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub(super) struct BatchOptions {
    #[serde(default)]
    evaluations_semantic: Semantic,
}

/// `POST /api/v1/access/evaluations` (AuthZEN §7.1): defaults for every evaluation,
/// and the evaluations.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct EvaluationsRequest {
    subject: Option<SubjectRequest>,
    resource: Option<ResourceRequest>,
    action: Option<ActionRequest>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    #[allow(dead_code)] // accepted as AuthZEN allows, not used
    context: Option<Value>,
    #[serde(default)]
    evaluations: Vec<BatchItem>,
    #[serde(default)]
    options: BatchOptions,
}

/// A decision (AuthZEN §6.2).
#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub(super) struct DecisionResponse {
    decision: bool,
    #[schema(value_type = Object)]
    context: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct EvaluationsResponse {
    evaluations: Vec<DecisionResponse>,
}

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_evaluation))
        .routes(routes!(post_evaluations))
}

/// What one evaluation needs, checked.
struct Question<'a> {
    subject: &'a SubjectRequest,
    path: &'a str,
    method: &'a str,
}

fn question<'a>(
    subject: Option<&'a SubjectRequest>,
    resource: Option<&'a ResourceRequest>,
    action: Option<&'a ActionRequest>,
    at: &str,
) -> Result<Question<'a>, V1Error> {
    let subject = subject.ok_or_else(|| bad(&format!("{at}subject"), "a subject is required"))?;
    let resource =
        resource.ok_or_else(|| bad(&format!("{at}resource"), "a resource is required"))?;
    let action = action.ok_or_else(|| bad(&format!("{at}action"), "an action is required"))?;
    if subject.kind != "user" {
        return Err(bad(
            &format!("{at}subject.type"),
            "the subject type must be user",
        ));
    }
    if resource.kind != "api_endpoint" {
        return Err(bad(
            &format!("{at}resource.type"),
            "the resource type must be api_endpoint",
        ));
    }
    if !resource.id.starts_with('/') {
        return Err(bad(
            &format!("{at}resource.id"),
            "the resource id must be a path",
        ));
    }
    Ok(Question {
        subject,
        path: &resource.id,
        method: &action.name,
    })
}

/// A decision refused before the rules: the subject is no one the host knows.
fn denied(reason: &str) -> DecisionResponse {
    DecisionResponse {
        decision: false,
        context: json!({ "reason": reason }),
    }
}

/// The subject's facts: from its token's claims, or from the snapshot.
fn subject_facts(
    state: &AppState,
    host_id: &str,
    snapshot: &PolicySnapshot,
    request: &SubjectRequest,
    day: &str,
) -> Result<Subject, DecisionResponse> {
    let token = request
        .properties
        .as_ref()
        .and_then(|p| p.get("token"))
        .and_then(Value::as_str);
    let Some(token) = token else {
        return snapshot
            .subject(&request.id, day)
            .ok_or_else(|| denied("the subject is not an active member of the host"));
    };
    let verified = bearer::verify_token(&state.issuer, &state.revocations, token, state.now())
        .map_err(|_| denied("the subject's token is invalid, expired or revoked"))?;
    if verified.claim("host") != Some(host_id) {
        return Err(denied("the subject's token is for another host"));
    }
    let subject = Subject::from_claims(&verified.claims)
        .ok_or_else(|| denied("the subject's token carries no readable profile"))?;
    if subject.user_id != request.id {
        return Err(denied("the subject's token names another user"));
    }
    Ok(subject)
}

fn answer(
    state: &AppState,
    host_id: &str,
    snapshot: &PolicySnapshot,
    q: &Question<'_>,
    day: &str,
) -> DecisionResponse {
    let subject = match subject_facts(state, host_id, snapshot, q.subject, day) {
        Ok(s) => s,
        Err(denial) => return denial,
    };
    let decision = snapshot.decide(&subject, q.path, q.method, day);
    let reason = match &decision.reason {
        Reason::UnknownEndpoint => "no endpoint of the host matches the path and method".to_owned(),
        Reason::NotGranted => "no permission grants the endpoint to the subject".to_owned(),
        Reason::Granted { kind, by } => format!("granted by {kind} {by}"),
    };
    DecisionResponse {
        decision: decision.allowed,
        context: json!({ "reason": reason, "endpoint_id": decision.endpoint_id }),
    }
}

/// One decision (AuthZEN §6).
#[utoipa::path(
    post,
    path = "/access/evaluation",
    tag = "access",
    request_body = EvaluationRequest,
    responses(
        (status = 200, body = DecisionResponse),
        (status = 400, description = "The request cannot be read; `field` names the part at fault"),
        (status = 401, description = "No valid token with the tessera:authz scope"),
    )
)]
async fn post_evaluation(
    State(state): State<AppState>,
    caller: PolicyCaller,
    ApiJson(request): ApiJson<EvaluationRequest>,
) -> Result<Json<DecisionResponse>, V1Error> {
    let q = question(
        Some(&request.subject),
        Some(&request.resource),
        Some(&request.action),
        "",
    )?;
    let snapshot = state.policy.get(&*state.store, &caller.host_id).await?;
    let day = iso_date(state.now());
    Ok(Json(answer(&state, &caller.host_id, &snapshot, &q, &day)))
}

/// Many decisions (AuthZEN §7): each evaluation takes the request's subject, resource
/// and action where it gives none; without evaluations, the request is one.
#[utoipa::path(
    post,
    path = "/access/evaluations",
    tag = "access",
    request_body = EvaluationsRequest,
    responses(
        (status = 200, body = EvaluationsResponse),
        (status = 400, description = "The request cannot be read; `field` names the part at fault"),
        (status = 401, description = "No valid token with the tessera:authz scope"),
    )
)]
async fn post_evaluations(
    State(state): State<AppState>,
    caller: PolicyCaller,
    ApiJson(request): ApiJson<EvaluationsRequest>,
) -> Result<Json<Value>, V1Error> {
    let snapshot = state.policy.get(&*state.store, &caller.host_id).await?;
    let day = iso_date(state.now());
    if request.evaluations.is_empty() {
        let q = question(
            request.subject.as_ref(),
            request.resource.as_ref(),
            request.action.as_ref(),
            "",
        )?;
        let one = answer(&state, &caller.host_id, &snapshot, &q, &day);
        return Ok(Json(serde_json::to_value(one).unwrap_or_default()));
    }
    if request.evaluations.len() > MAX_EVALUATIONS {
        return Err(bad(
            "evaluations",
            format!("at most {MAX_EVALUATIONS} evaluations per request"),
        ));
    }
    // Every evaluation is checked before any is answered: a malformed one refuses
    // the whole request.
    let questions = request
        .evaluations
        .iter()
        .enumerate()
        .map(|(i, item)| {
            question(
                item.subject.as_ref().or(request.subject.as_ref()),
                item.resource.as_ref().or(request.resource.as_ref()),
                item.action.as_ref().or(request.action.as_ref()),
                &format!("evaluations[{i}]."),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let semantic = request.options.evaluations_semantic;
    let mut evaluations = Vec::with_capacity(questions.len());
    for q in &questions {
        let d = answer(&state, &caller.host_id, &snapshot, q, &day);
        let stop = match semantic {
            Semantic::ExecuteAll => false,
            Semantic::DenyOnFirstDeny => !d.decision,
            Semantic::PermitOnFirstPermit => d.decision,
        };
        evaluations.push(d);
        if stop {
            break;
        }
    }
    Ok(Json(
        serde_json::to_value(EvaluationsResponse { evaluations }).unwrap_or_default(),
    ))
}
