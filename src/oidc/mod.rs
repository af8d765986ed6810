//! OpenID Connect rules: Discovery 1.0 metadata, ID tokens (Core §2, §3.1.3.6),
//! userinfo claims (Core §5.3–5.4) and RP-Initiated Logout 1.0. No axum, no SQL, and
//! nothing from `oauth`: `oauth::grant` uses `oidc::id_token`, never the other way round,
//! and the signer both use is `keys::TokenIssuer`.

pub mod discovery;
pub mod id_token;
pub mod logout;
pub mod userinfo;

#[cfg(test)]
mod tests {
    /// The layering is checked, not only written down: no file of `oidc` names
    /// `oauth`, whether as `crate::oauth` or through `super`.
    #[test]
    fn oidc_never_imports_oauth() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/oidc");
        // Spelt in two halves so that this file does not match itself.
        let needle = concat!("oa", "uth::");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")) {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                assert!(
                    !line.contains(needle),
                    "{} imports oauth: {line}",
                    path.display()
                );
            }
            checked += 1;
        }
        assert!(
            checked >= 5,
            "only {checked} files found in {}",
            dir.display()
        );
    }
}
