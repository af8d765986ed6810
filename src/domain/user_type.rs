//! User types and the models hosts choose from (seed 003, "User Type"): `E`/`C`
//! (employee, customer; the default) or `E`/`P`/`B` (employee, personal and business
//! customers, as banks use).

/// A host's user-type model, stored in `host_t.user_type_model` as its letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserTypeModel {
    /// `E`, `C`.
    EmployeeCustomer,
    /// `E`, `P`, `B`.
    EmployeePersonalBusiness,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserTypeError {
    #[error("unknown user-type model {0:?}; use EC (employee, customer) or EPB (employee, personal, business)")]
    UnknownModel(String),
    #[error("user type {given:?} is not one of this host's types ({allowed})")]
    NotInModel {
        given: String,
        allowed: &'static str,
    },
}

impl UserTypeModel {
    /// # Errors
    /// On anything but `EC` or `EPB`.
    pub fn parse(text: &str) -> Result<Self, UserTypeError> {
        match text {
            "EC" => Ok(Self::EmployeeCustomer),
            "EPB" => Ok(Self::EmployeePersonalBusiness),
            other => Err(UserTypeError::UnknownModel(other.to_owned())),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmployeeCustomer => "EC",
            Self::EmployeePersonalBusiness => "EPB",
        }
    }

    /// Checks that `user_type` belongs to this model.
    ///
    /// # Errors
    /// `NotInModel` naming the allowed types.
    pub fn check(self, user_type: &str) -> Result<(), UserTypeError> {
        let allowed = match self {
            Self::EmployeeCustomer => "E, C",
            Self::EmployeePersonalBusiness => "E, P, B",
        };
        let ok = user_type.len() == 1 && self.as_str().contains(user_type);
        if ok {
            Ok(())
        } else {
            Err(UserTypeError::NotInModel {
                given: user_type.to_owned(),
                allowed,
            })
        }
    }
}

/// Whether a user of this type is an employee (authenticated by the host's directory,
/// identified by `employee_id`); every other type is a kind of customer.
#[must_use]
pub fn is_employee(user_type: &str) -> bool {
    user_type == "E"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_model_allows_its_types_only() {
        let ec = UserTypeModel::parse("EC").unwrap();
        assert!(ec.check("E").is_ok() && ec.check("C").is_ok());
        assert!(ec.check("P").is_err());
        assert!(ec.check("EC").is_err());
        assert!(ec.check("").is_err());
        let bank = UserTypeModel::parse("EPB").unwrap();
        assert!(bank.check("P").is_ok() && bank.check("B").is_ok());
        let err = bank.check("C").unwrap_err();
        assert_eq!(
            err.to_string(),
            "user type \"C\" is not one of this host's types (E, P, B)"
        );
        assert!(UserTypeModel::parse("XY").is_err());
    }
}
