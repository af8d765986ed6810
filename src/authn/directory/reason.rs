//! Why a directory refused a bind, in words a person can act on.
//!
//! Active Directory puts a sub-code in the diagnostic text of `invalidCredentials` (49):
//! `80090308: LdapErr: DSID-…, comment: AcceptSecurityContext error, data 52e, v…`.
//! OpenLDAP's password-policy overlay answers in a response control (draft-behera-ldap-
//! password-policy §6.2) when the request carried the control.

/// What a refused sign-in tells the person. Wrong password and unknown user are one
/// case, so the page never reveals whether an account exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 52e (or 525 user not found), or a plain 49: wrong name or password.
    InvalidCredentials,
    /// 530: not permitted to sign in at this time (logon hours, workstation).
    NotPermittedNow,
    /// 532: the password has expired.
    PasswordExpired,
    /// 533: the account is disabled.
    AccountDisabled,
    /// 701: the account has expired.
    AccountExpired,
    /// 773: the password must be changed before signing in.
    MustChangePassword,
    /// 775: the account is locked out.
    LockedOut,
}

impl Refusal {
    /// The message for the sign-in page.
    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            Self::InvalidCredentials => "The email, username or password is not right.",
            Self::NotPermittedNow => "Your account may not sign in at this time. Ask your administrator about your sign-in hours.",
            Self::PasswordExpired => "Your password has expired. Change it with your organisation's password tool, then sign in again.",
            Self::AccountDisabled => "Your account is disabled. Ask your administrator to enable it.",
            Self::AccountExpired => "Your account has expired. Ask your administrator to extend it.",
            Self::MustChangePassword => "You must change your password before you sign in. Change it with your organisation's password tool, then sign in again.",
            Self::LockedOut => "Your account is locked after too many failed sign-ins. Wait, or ask your administrator to unlock it.",
        }
    }

    /// The AD sub-code in a diagnostic text (`data 52e,` …), if any.
    #[must_use]
    pub fn from_ad_diagnostic(text: &str) -> Option<Self> {
        let lower = text.to_ascii_lowercase();
        let start = lower.find("data ")? + 5;
        let code: String = lower[start..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect();
        Some(match code.as_str() {
            "530" => Self::NotPermittedNow,
            "532" => Self::PasswordExpired,
            "533" => Self::AccountDisabled,
            "701" => Self::AccountExpired,
            "773" => Self::MustChangePassword,
            "775" => Self::LockedOut,
            _ => Self::InvalidCredentials,
        })
    }

    /// The error of a password-policy response control's value, if it holds one:
    /// `SEQUENCE { warning [0] … OPTIONAL, error [1] ENUMERATED OPTIONAL }`, with
    /// passwordExpired (0), accountLocked (1), changeAfterReset (2).
    #[must_use]
    pub fn from_ppolicy_control(value: &[u8]) -> Option<Self> {
        // SEQUENCE header.
        let (&tag, rest) = value.split_first()?;
        if tag != 0x30 {
            return None;
        }
        let (len, mut body) = ber_length(rest)?;
        body = body.get(..len)?;
        while let Some((&tag, rest)) = body.split_first() {
            let (len, rest) = ber_length(rest)?;
            let content = rest.get(..len)?;
            if tag == 0x81 {
                return match content.last()? {
                    0 => Some(Self::PasswordExpired),
                    1 => Some(Self::LockedOut),
                    2 => Some(Self::MustChangePassword),
                    _ => None,
                };
            }
            body = rest.get(len..)?;
        }
        None
    }
}

/// A BER length (short or long form) and what follows it.
fn ber_length(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let (&first, rest) = bytes.split_first()?;
    if first < 0x80 {
        return Some((usize::from(first), rest));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let len = rest
        .get(..n)?
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Some((len, rest.get(n..)?))
}

/// The password-policy request control's OID.
pub const PPOLICY_OID: &str = "1.3.6.1.4.1.42.2.27.8.5.1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ad_sub_codes_map_to_reasons() {
        let text = |code: &str| {
            format!("80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data {code}, v1db1")
        };
        assert_eq!(
            Refusal::from_ad_diagnostic(&text("52e")),
            Some(Refusal::InvalidCredentials)
        );
        assert_eq!(
            Refusal::from_ad_diagnostic(&text("525")),
            Some(Refusal::InvalidCredentials)
        );
        assert_eq!(
            Refusal::from_ad_diagnostic(&text("530")),
            Some(Refusal::NotPermittedNow)
        );
        assert_eq!(
            Refusal::from_ad_diagnostic(&text("532")),
            Some(Refusal::PasswordExpired)
        );
        assert_eq!(
            Refusal::from_ad_diagnostic(&text("533")),
            Some(Refusal::AccountDisabled)
        );
        assert_eq!(
            Refusal::from_ad_diagnostic(&text("701")),
            Some(Refusal::AccountExpired)
        );
        assert_eq!(
            Refusal::from_ad_diagnostic(&text("773")),
            Some(Refusal::MustChangePassword)
        );
        assert_eq!(
            Refusal::from_ad_diagnostic(&text("775")),
            Some(Refusal::LockedOut)
        );
        assert_eq!(Refusal::from_ad_diagnostic("Invalid credentials"), None);
    }

    #[test]
    fn ppolicy_errors_decode() {
        // SEQUENCE { error [1] accountLocked }
        assert_eq!(
            Refusal::from_ppolicy_control(&[0x30, 0x03, 0x81, 0x01, 0x01]),
            Some(Refusal::LockedOut)
        );
        // SEQUENCE { warning [0] { timeBeforeExpiration [0] 100 }, error [1] changeAfterReset }
        let v = [
            0x30, 0x09, 0xa0, 0x04, 0x80, 0x02, 0x00, 0x64, 0x81, 0x01, 0x02,
        ];
        assert_eq!(
            Refusal::from_ppolicy_control(&v),
            Some(Refusal::MustChangePassword)
        );
        assert_eq!(Refusal::from_ppolicy_control(&[0x30, 0x00]), None);
        assert_eq!(Refusal::from_ppolicy_control(&[0x04, 0x00]), None);
        assert_eq!(Refusal::from_ppolicy_control(&[0x30, 0x05, 0x81]), None);
    }
}
