//! People who sign in.

/// A user as stored in `user_t`.
#[derive(Clone, Debug)]
pub struct User {
    pub user_id: String,
    pub email: String,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub language: String,
    pub user_type: Option<String>,
    pub verified: bool,
    pub locked: bool,
}

impl User {
    /// The display name: first and last name when known, the email otherwise.
    #[must_use]
    pub fn display_name(&self) -> Option<String> {
        match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(f), None) => Some(f.clone()),
            (None, Some(l)) => Some(l.clone()),
            (None, None) => None,
        }
    }
}
