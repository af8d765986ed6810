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
    pub contact: Contact,
}

/// How to reach a user, and the profile facts beyond their name: seed 003's columns,
/// released by the `address`, `phone` and `profile` scopes (OpenID Connect Core §5.4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contact {
    pub phone_number: Option<String>,
    pub phone_verified: bool,
    /// As stored: the seed's one letter (`F`, `M`) or a word.
    pub gender: Option<String>,
    /// `YYYY-MM-DD`.
    pub birthday: Option<String>,
    /// The street address, possibly several lines.
    pub address: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub post_code: Option<String>,
    pub country: Option<String>,
}

impl Contact {
    /// The `gender` claim (Core §5.1): `female` and `male` for the seed's letters.
    #[must_use]
    pub fn gender_claim(&self) -> Option<&str> {
        match self.gender.as_deref()? {
            "F" | "f" => Some("female"),
            "M" | "m" => Some("male"),
            "" => None,
            other => Some(other),
        }
    }

    /// Checks the facts a document or a form gives: a real `YYYY-MM-DD` birthday, a
    /// phone number of digits and punctuation, and bounded lengths.
    ///
    /// # Errors
    /// The first fact at fault, named.
    pub fn check(&self) -> Result<(), String> {
        if let Some(day) = &self.birthday {
            super::date::parse_iso_date(day).map_err(|e| format!("birthday: {e}"))?;
        }
        if let Some(phone) = &self.phone_number {
            let ok = phone.len() <= 32
                && phone
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-().x".contains(c));
            if !ok {
                return Err(format!("phone_number: {phone:?} is not a phone number"));
            }
        }
        for (name, value, max) in [
            ("gender", &self.gender, 16),
            ("address", &self.address, 256),
            ("city", &self.city, 64),
            ("province", &self.province, 64),
            ("post_code", &self.post_code, 16),
            ("country", &self.country, 64),
        ] {
            if value.as_ref().is_some_and(|v| v.len() > max) {
                return Err(format!("{name}: longer than {max} characters"));
            }
        }
        Ok(())
    }

    /// Whether any part of a postal address is known.
    #[must_use]
    pub fn has_address(&self) -> bool {
        [
            &self.address,
            &self.city,
            &self.province,
            &self.post_code,
            &self.country,
        ]
        .iter()
        .any(|p| p.as_deref().is_some_and(|v| !v.is_empty()))
    }

    /// The address as mail would carry it: street lines, then "post code city",
    /// province and country, each on its own line (Core §5.1.1 `formatted`).
    #[must_use]
    pub fn formatted_address(&self) -> String {
        let town = [self.post_code.as_deref(), self.city.as_deref()]
            .into_iter()
            .flatten()
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        [
            self.address.as_deref(),
            Some(town.as_str()),
            self.province.as_deref(),
            self.country.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|v| !v.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_formatted_line_by_line() {
        let contact = Contact {
            address: Some("1 Main Street".into()),
            city: Some("Springfield".into()),
            post_code: Some("12345".into()),
            country: Some("US".into()),
            ..Contact::default()
        };
        assert!(contact.has_address());
        assert_eq!(
            contact.formatted_address(),
            "1 Main Street\n12345 Springfield\nUS"
        );
        assert!(!Contact::default().has_address());
    }

    #[test]
    fn the_seeds_gender_letters_become_words() {
        let mut c = Contact {
            gender: Some("F".into()),
            ..Contact::default()
        };
        assert_eq!(c.gender_claim(), Some("female"));
        c.gender = Some("non-binary".into());
        assert_eq!(c.gender_claim(), Some("non-binary"));
    }
}
