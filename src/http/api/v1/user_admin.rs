//! Creating, changing and deleting the host's users (issue 13; seed 001's `POST
//! /users`, `PATCH /users/:id`, `DELETE /users/:id`): host admins only. A user's
//! account (`user_t`) is shared by every host they belong to, so a change of it for a
//! user who also belongs to another host needs a system admin
//! (`authorize_account_change`); their records in this host do not.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::bad;
use super::users::UserResponse;
use crate::domain::date::iso_date;
use crate::domain::input::{self, FieldError, MAX_NAME, MIN_PASSWORD};
use crate::domain::secret::random_id;
use crate::domain::{authorize, authorize_account_change, Action, Contact, Refusal, UserTypeModel};
use crate::http::error::V1Error;
use crate::http::extract::{ApiJson, Caller};
use crate::http::state::AppState;
use crate::store::{EmployeeRecord, MemberChange, NewMember};

/// The longest password accepted: hashing cost grows with it.
const MAX_PASSWORD: usize = 1024;
/// The longest language tag (RFC 5646 §4.4.1 advises 35).
const MAX_LANGUAGE: usize = 35;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_user))
        .routes(routes!(patch_user, delete_user))
}

/// A JSON field that may be absent (kept), `null` (cleared) or a value.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The body of `POST /api/v1/users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateUserRequest {
    email: String,
    /// `E` employee; `C` customer (`P`, `B` in hosts of that model).
    user_type: String,
    /// Needed for customers (at least 8 characters); optional for employees, who may
    /// sign in through the host's directory. Never stored or recorded in clear.
    password: Option<String>,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    /// Default `en`.
    language: Option<String>,
    #[serde(default)]
    verified: bool,
    /// Employees: their id in the host (required).
    employee_id: Option<String>,
    /// Employees: the `employee_id` of their manager in the host.
    manager_id: Option<String>,
    /// Employees: their title.
    title: Option<String>,
    /// Customers: their id in the host.
    customer_id: Option<String>,
}

fn optional_name(field: &str, value: Option<&str>) -> Result<Option<String>, FieldError> {
    input::optional_text(field, value, MAX_NAME)
}

fn password(value: &str) -> Result<&str, FieldError> {
    let n = value.chars().count();
    if n < MIN_PASSWORD {
        return Err(FieldError::new(
            "password",
            format!("must be at least {MIN_PASSWORD} characters"),
        ));
    }
    if n > MAX_PASSWORD {
        return Err(FieldError::new(
            "password",
            format!("must be at most {MAX_PASSWORD} characters"),
        ));
    }
    Ok(value)
}

/// Creates a user in the host: a customer with a password, or an employee with an
/// `employee_id`. An email (or username) already in use, in this host or any other,
/// is a 409 that says nothing more. One transaction with its audit entry.
#[utoipa::path(
    post,
    path = "/users",
    tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, body = UserResponse, description = "The user as created"),
        (status = 400, description = "The body is malformed; `field` names the field"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The caller is not a host admin"),
        (status = 409, description = "The email, username, employee or customer id is taken"),
        (status = 422, description = "A value breaks a rule; `field` names it"),
    )
)]
async fn post_user(
    State(state): State<AppState>,
    Caller { principal, audit }: Caller,
    ApiJson(body): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, Json<UserResponse>), V1Error> {
    let host_id = principal.host_id.as_str();
    authorize(&principal, Action::ManageUsers, host_id)?;
    let host = state
        .store
        .find_host(host_id)
        .await?
        .ok_or(Refusal::NotFound)?;
    let email = input::email("email", &body.email)?;
    let user_type = input::text("user_type", &body.user_type, 1)?;
    UserTypeModel::parse(&host.user_type_model)
        .and_then(|m| m.check(&user_type))
        .map_err(|e| FieldError::new("user_type", e.to_string()))?;
    let employee = user_type == "E";
    let employee_record = if employee {
        if body.customer_id.is_some() {
            return Err(FieldError::new("customer_id", "employees have no customer_id").into());
        }
        let employee_id = body
            .employee_id
            .as_deref()
            .ok_or_else(|| FieldError::new("employee_id", "an employee needs an employee_id"))?;
        Some(EmployeeRecord {
            employee_id: input::text("employee_id", employee_id, MAX_NAME)?,
            title: optional_name("title", body.title.as_deref())?,
            manager_id: optional_name("manager_id", body.manager_id.as_deref())?,
        })
    } else {
        for (field, value) in [
            ("employee_id", &body.employee_id),
            ("manager_id", &body.manager_id),
            ("title", &body.title),
        ] {
            if value.is_some() {
                return Err(FieldError::new(field, "only employees have one").into());
            }
        }
        None
    };
    let password_hash = match body.password.as_deref() {
        Some(p) => Some(
            state
                .authenticator
                .passwords
                .hash(password(p)?)
                .await
                .map_err(|e| V1Error::Internal(e.to_string()))?,
        ),
        None if employee => None,
        None => return Err(FieldError::new("password", "a customer needs a password").into()),
    };
    let new = NewMember {
        user_id: random_id(),
        email,
        username: optional_name("username", body.username.as_deref())?,
        password_hash,
        first_name: optional_name("first_name", body.first_name.as_deref())?,
        last_name: optional_name("last_name", body.last_name.as_deref())?,
        language: match body.language.as_deref() {
            Some(l) => input::text("language", l, MAX_LANGUAGE)?,
            None => "en".to_owned(),
        },
        user_type,
        verified: body.verified,
        employee: employee_record,
        customer_id: optional_name("customer_id", body.customer_id.as_deref())?,
    };
    let member = state
        .store
        .add_member(host_id, &new, &audit, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(UserResponse::from(member))))
}

/// The body of `PATCH /api/v1/users/{id}`: a field left out is kept, `null` clears it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateUserRequest {
    email: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    username: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    last_name: Option<Option<String>>,
    language: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    phone_number: Option<Option<String>>,
    phone_verified: Option<bool>,
    /// `F`, `M` or a word.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    gender: Option<Option<String>>,
    /// `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    birthday: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    address: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    city: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    province: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    post_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    country: Option<Option<String>>,
    /// Employees: their title in the host.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    title: Option<Option<String>>,
    /// Employees: the `employee_id` of their manager in the host.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    manager_id: Option<Option<String>>,
}

/// A nullable name: `null` or blank clears it.
fn nullable_name(
    field: &str,
    value: Option<&Option<String>>,
) -> Result<Option<Option<String>>, FieldError> {
    value
        .map(|v| optional_name(field, v.as_deref()))
        .transpose()
}

/// The contact facts after the change, checked; none when the body touches none.
fn merged_contact(
    body: &UpdateUserRequest,
    current: &Contact,
) -> Result<Option<Contact>, FieldError> {
    let fields = [
        &body.phone_number,
        &body.gender,
        &body.birthday,
        &body.address,
        &body.city,
        &body.province,
        &body.post_code,
        &body.country,
    ];
    if fields.iter().all(|f| f.is_none()) && body.phone_verified.is_none() {
        return Ok(None);
    }
    let pick = |given: &Option<Option<String>>, kept: &Option<String>| match given {
        // A blank value clears, as null does.
        Some(v) => v.clone().filter(|s| !s.trim().is_empty()),
        None => kept.clone(),
    };
    let contact = Contact {
        phone_number: pick(&body.phone_number, &current.phone_number),
        phone_verified: body.phone_verified.unwrap_or(current.phone_verified),
        gender: pick(&body.gender, &current.gender),
        birthday: pick(&body.birthday, &current.birthday),
        address: pick(&body.address, &current.address),
        city: pick(&body.city, &current.city),
        province: pick(&body.province, &current.province),
        post_code: pick(&body.post_code, &current.post_code),
        country: pick(&body.country, &current.country),
    };
    contact.check().map_err(|message| {
        // `Contact::check` names the fact first: "birthday: …".
        let field = message.split(':').next().unwrap_or("body").to_owned();
        FieldError { field, message }
    })?;
    Ok(Some(contact))
}

/// Changes a user's profile, contact facts, or (employees) title and manager. One
/// transaction with its audit entry.
#[utoipa::path(
    patch,
    path = "/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "The user's id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, body = UserResponse, description = "The user as changed"),
        (status = 400, description = "The body is malformed or empty; `field` names the field"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The caller is not a host admin, or the account is shared with another host"),
        (status = 404, description = "No such user in the host"),
        (status = 409, description = "The email or username is taken"),
        (status = 422, description = "A value breaks a rule; `field` names it"),
    )
)]
async fn patch_user(
    State(state): State<AppState>,
    Caller { principal, audit }: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateUserRequest>,
) -> Result<Json<UserResponse>, V1Error> {
    let host_id = principal.host_id.as_str();
    authorize(&principal, Action::ManageUsers, host_id)?;
    let current = state
        .store
        .find_member(host_id, &id)
        .await?
        .ok_or(Refusal::NotFound)?;
    let change = MemberChange {
        email: body
            .email
            .as_deref()
            .map(|e| input::email("email", e))
            .transpose()?,
        username: nullable_name("username", body.username.as_ref())?,
        first_name: nullable_name("first_name", body.first_name.as_ref())?,
        last_name: nullable_name("last_name", body.last_name.as_ref())?,
        language: body
            .language
            .as_deref()
            .map(|l| input::text("language", l, MAX_LANGUAGE))
            .transpose()?,
        contact: merged_contact(&body, &current.user.contact)?,
        title: nullable_name("title", body.title.as_ref())?,
        manager_id: nullable_name("manager_id", body.manager_id.as_ref())?,
    };
    if !change.is_account_wide() && change.title.is_none() && change.manager_id.is_none() {
        return Err(bad("body", "give at least one field to change"));
    }
    if change.is_account_wide() {
        let hosts: Vec<String> = state
            .store
            .user_hosts(&id)
            .await?
            .into_iter()
            .map(|h| h.host_id)
            .collect();
        authorize_account_change(&principal, Action::ManageUsers, host_id, &hosts)?;
    }
    let member = state
        .store
        .update_member(host_id, &id, &change, &audit, state.now())
        .await?;
    Ok(Json(UserResponse::from(member)))
}

/// Deletes a user. A user of this host only loses their account (with everything
/// that hangs on it); a user who also belongs to other hosts loses their membership
/// here and the host's data about them, and keeps their account. The host's last
/// admin cannot be deleted (409).
#[utoipa::path(
    delete,
    path = "/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The caller is not a host admin"),
        (status = 404, description = "No such user in the host"),
        (status = 409, description = "The user is the host's last admin, or others point at their records"),
    )
)]
async fn delete_user(
    State(state): State<AppState>,
    Caller { principal, audit }: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, V1Error> {
    let host_id = principal.host_id.as_str();
    authorize(&principal, Action::DeleteUser, host_id)?;
    let now = state.now();
    state
        .store
        .remove_member(host_id, &id, &iso_date(now), &audit, now)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> UpdateUserRequest {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn a_field_left_out_is_kept_and_null_clears_it() {
        let b = body(r#"{"first_name": null, "last_name": "Lee"}"#);
        assert_eq!(b.first_name, Some(None));
        assert_eq!(b.last_name, Some(Some("Lee".into())));
        assert_eq!(b.username, None);
    }

    #[test]
    fn contact_facts_merge_over_the_stored_ones_and_are_checked() {
        let current = Contact {
            city: Some("Oslo".into()),
            country: Some("NO".into()),
            ..Contact::default()
        };
        assert_eq!(merged_contact(&body("{}"), &current), Ok(None));
        let merged = merged_contact(&body(r#"{"city": null, "post_code": "0150"}"#), &current)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_default();
        assert_eq!(merged.city, None);
        assert_eq!(merged.country.as_deref(), Some("NO"));
        assert_eq!(merged.post_code.as_deref(), Some("0150"));
        let refused = merged_contact(&body(r#"{"birthday": "1990-13-01"}"#), &current);
        assert_eq!(refused.map_err(|e| e.field), Err("birthday".to_owned()));
    }

    #[test]
    fn passwords_are_bounded() {
        assert!(password("seven77").is_err());
        assert!(password("eight888").is_ok());
        assert!(password(&"x".repeat(1025)).is_err());
    }
}
