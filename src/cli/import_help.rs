//! `tessera import --help`: every section and field the import document takes
//! (`domain::import`). A test checks that it names every field serde accepts.

pub const IMPORT_HELP: &str = "\
Load hosts, users, employees, customers, roles, groups, positions, attributes, their
assignments and clients from a YAML or JSON document (JSON when FILE ends in .json), in
one transaction. Importing the same file again changes nothing; nothing is deleted that
the document leaves out; an error names the line or entry at fault and leaves the
database unchanged. fixtures/seed-example.yaml is a complete example.

The document has three sections, each a list, each optional:

hosts:      host_id, domain, name, user_types (EC, or EPB), default_role,
            roles:      [{id, name, description}]
            groups:     [{id, name, description}]
            positions:  [{id, name, description, inherit_to_ancestor, inherit_to_sibling}]
            attributes: [{id, name, type (string, integer, boolean, ...), description}]

users:      email, user_id, username, first_name, last_name, language, user_type,
            verified, locked, password (clear, hashed with argon2id) or password_hash
            (an argon2 PHC string), phone_number, phone_verified, gender, birthday,
            address, city, province, post_code, country, system_admin (every host's
            administrator; kept as stored when left out),
            hosts: [{host (id or domain),
                     employee: {employee_id, title, manager_id, hire_date},
                     customer: {customer_id, referral_id},
                     roles, groups, positions: a list of names, or of
                       {name, start_date, end_date} (ISO dates; end_date is the last day),
                     attributes: {name: value}, or a list of
                       {name, value, start_date, end_date}}]

clients:    client_id, name, type (confidential or public), secret (clear, 16 characters
            or more; confidential clients only), redirect_uris, post_logout_redirect_uris,
            grants (authorization_code, refresh_token, client_credentials,
            urn:ietf:params:oauth:grant-type:token-exchange, and password for a legacy
            first-party client with skip_consent only), scopes (space separated), host
            (id or domain), require_pkce, profile_in_id_token, skip_consent (a
            first-party client: no consent page), token_endpoint_auth_method
            (client_secret_basic, client_secret_post, or none for public clients; left
            out, either secret method)";

#[cfg(test)]
mod tests {
    use super::IMPORT_HELP;
    use crate::domain::import::{
        AttributeDefDoc, AttributeValueDoc, ClientDoc, CustomerDoc, Document, EmployeeDoc, HostDoc,
        MembershipDoc, NamedDoc, PositionDoc, UserDoc,
    };
    use serde::de::DeserializeOwned;

    /// The fields `T` accepts, read from serde's own refusal of an unknown one
    /// ("unknown field `x`, expected one of `a`, `b`"), so a new field cannot be left
    /// out of the help unnoticed.
    fn fields<T: DeserializeOwned + std::fmt::Debug>() -> Vec<String> {
        let error = serde_json::from_str::<T>(r#"{"no such field": 1}"#)
            .expect_err("an unknown field is refused")
            .to_string();
        let expected = error.split("expected").nth(1).unwrap_or_default();
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn the_import_help_names_every_field_the_document_takes() {
        let all = [
            fields::<Document>(),
            fields::<HostDoc>(),
            fields::<NamedDoc>(),
            fields::<PositionDoc>(),
            fields::<AttributeDefDoc>(),
            fields::<UserDoc>(),
            fields::<MembershipDoc>(),
            fields::<EmployeeDoc>(),
            fields::<CustomerDoc>(),
            fields::<AttributeValueDoc>(),
            fields::<ClientDoc>(),
        ];
        for list in &all {
            assert!(!list.is_empty(), "serde named no fields");
            for field in list {
                assert!(
                    IMPORT_HELP.contains(field.as_str()),
                    "{field} is not in the help"
                );
            }
        }
    }
}
