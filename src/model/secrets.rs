//! Secret Manager references and literal values that look like credentials.

/// A secret's id from any of the forms Cloud Run takes: `name`, `projects/P/secrets/name`,
/// or `projects/P/secrets/name/versions/V`.
pub fn secret_id(s: &str) -> String {
    let s = s.trim();
    if let Some(i) = s.find("/secrets/") {
        let rest = &s[i + "/secrets/".len()..];
        return rest.split('/').next().unwrap_or(rest).to_string();
    }
    s.to_string()
}

/// Key words that say an env var holds a credential.
const SECRET_WORDS: &[&str] = &[
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "TOKEN",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "ACCESS_KEY",
    "AUTH_KEY",
    "SIGNING_KEY",
    "CLIENT_KEY",
];

/// Key endings that say the value names or locates something rather than being it.
const NOT_SECRET_ENDINGS: &[&str] = &[
    "_URL",
    "_URI",
    "_ID",
    "_NAME",
    "_PATH",
    "_FILE",
    "_REF",
    "_VERSION",
    "_PROJECT",
    "_TTL",
    "_EXPIRY",
    "_HEADER",
    "_ENDPOINT",
    "_ISSUER",
    "_AUDIENCE",
    "_ALGORITHM",
    "_TYPE",
];

/// Prefixes of well-known credential formats.
const TOKEN_PREFIXES: &[&str] = &[
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "whsec_",
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xoxs-",
    "-----BEGIN",
    "AKIA",
    "ASIA",
    "AIza",
    "ya29.",
    "SG.",
    "shpat_",
    "npm_",
];

/// Whether a literal env value looks like a credential. The value itself is never kept or
/// printed; only this verdict is.
pub fn looks_like_secret(key: &str, value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() {
        return false;
    }
    // The first byte rules out nearly every prefix without a string compare (this runs for
    // every literal env value of every service).
    let first = v.as_bytes()[0];
    if TOKEN_PREFIXES
        .iter()
        .any(|p| p.as_bytes()[0] == first && v.len() >= p.len() + 12 && v.starts_with(p))
    {
        return true;
    }
    if has_url_password(v) || looks_like_jwt(v) {
        return true;
    }
    let secret_key = names_a_credential(key);
    // A credential-named key with a value that reads like a placeholder is still a finding
    // only when it is long enough to be real.
    secret_key && v.len() >= 8 && !v.contains(' ')
}

/// Whether an env var's key says it holds a credential, whatever its case.
fn names_a_credential(key: &str) -> bool {
    // One pass over the key for all the words: this runs for every literal env var of every
    // service, and a search per word was a twentieth of a large plan's check.
    static WORDS: std::sync::LazyLock<aho_corasick::AhoCorasick> = std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(SECRET_WORDS)
            .expect("the key words are valid patterns")
    });
    let k = key.as_bytes();
    WORDS.is_match(k)
        && !NOT_SECRET_ENDINGS.iter().any(|e| {
            k.len() >= e.len() && k[k.len() - e.len()..].eq_ignore_ascii_case(e.as_bytes())
        })
}

/// `scheme://user:password@host`.
fn has_url_password(v: &str) -> bool {
    // Every literal env value is looked at: a byte loop, not a substring searcher.
    let Some(i) = v.as_bytes().windows(3).position(|w| w == b"://") else {
        return false;
    };
    let rest = &v[i + 3..];
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    match authority.rsplit_once('@') {
        Some((userinfo, _)) => userinfo
            .split_once(':')
            .is_some_and(|(_, pw)| !pw.is_empty()),
        None => false,
    }
}

fn looks_like_jwt(v: &str) -> bool {
    // A JWT's header starts `eyJ` (`{"` in base64): nothing else is split up.
    if !v.starts_with("eyJ") {
        return false;
    }
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            p.len() >= 4
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '=')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_ids_from_every_form() {
        assert_eq!(secret_id("database-url"), "database-url");
        assert_eq!(
            secret_id("projects/123/secrets/database-url"),
            "database-url"
        );
        assert_eq!(
            secret_id("projects/p/secrets/database-url/versions/3"),
            "database-url"
        );
    }

    #[test]
    fn credentials_are_recognised() {
        assert!(looks_like_secret(
            "STRIPE_KEY",
            "sk_live_51HxYzAbCdEfGhIjKlMn"
        ));
        assert!(looks_like_secret(
            "DATABASE_URL",
            "postgres://app:hunter2@10.0.0.3/db"
        ));
        assert!(looks_like_secret("JWT_SECRET", "s3cr3t-value-123"));
        // Key words in any case, anywhere in the key.
        assert!(looks_like_secret("db_Password", "s3cr3t-value-123"));
        assert!(looks_like_secret("STRIPE_APIKEY_LIVE", "s3cr3t-value-123"));
        assert!(looks_like_secret(
            "X",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdEFGHijkl"
        ));
    }

    #[test]
    fn ordinary_values_are_not() {
        assert!(!looks_like_secret(
            "STRIPE_PRICE_ID_PRO_MONTHLY",
            "price_1PqRsT2uVwXyZ0aBcDeFgHiJ"
        ));
        assert!(!looks_like_secret(
            "API_BASE_URL",
            "https://api.example.com"
        ));
        assert!(!looks_like_secret("JWT_SECRET_NAME", "jwt-signing-key"));
        assert!(!looks_like_secret("jwt_secret_name", "jwt-signing-key"));
        assert!(!looks_like_secret("ID", "s3cr3t-value-123"));
        assert!(!looks_like_secret(
            "TOKEN_URL",
            "https://oauth2.googleapis.com/token"
        ));
        assert!(!looks_like_secret("LOG_LEVEL", "info"));
        assert!(!looks_like_secret("PASSWORD", ""));
        assert!(!looks_like_secret(
            "DATABASE_URL",
            "postgres://app@/db?host=/cloudsql/x"
        ));
    }
}
