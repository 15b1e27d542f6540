//! Normalising names across environments: `jualuma-dev-connector` in dev and
//! `jualuma-prod-connector` in prod are the same thing once the environment is taken out.

/// Other spellings of common environment names, so `production` and `prod` both match.
fn aliases(env: &str) -> Vec<String> {
    let env = env.to_ascii_lowercase();
    let mut out = vec![env.clone()];
    let groups: [&[&str]; 4] = [
        &["dev", "development", "develop"],
        &["prod", "production", "prd"],
        &["stg", "staging", "stage"],
        &["test", "testing", "qa"],
    ];
    for g in groups {
        if g.contains(&env.as_str()) {
            out.extend(g.iter().map(|s| s.to_string()));
        }
    }
    out.sort();
    out.dedup();
    // Longest first so `production` wins over `prod`.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

const SEPARATORS: &[char] = &['-', '_', '.', ':', '/', '@'];
/// Project ids hold dashes themselves, so they are matched between coarser separators.
const PROJECT_SEPARATORS: &[char] = &['.', ':', '/', '@'];

/// Replaces the environment's projects with `{project}` and its name, as a whole token
/// between separators, with `{env}`.
pub fn normalise(value: &str, env: &str, projects: &[String]) -> String {
    let mut s = value.to_string();
    let mut projects: Vec<&String> = projects.iter().collect();
    projects.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in projects {
        if !p.is_empty() {
            s = replace_token(&s, p, "{project}", PROJECT_SEPARATORS);
        }
    }
    for alias in aliases(env) {
        s = replace_token(&s, &alias, "{env}", SEPARATORS);
    }
    s
}

/// Replaces `word` where it stands as a whole token (bounded by separators or the ends).
fn replace_token(s: &str, word: &str, with: &str, separators: &[char]) -> String {
    let lower = s.to_ascii_lowercase();
    let word_l = word.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < s.len() {
        if lower[i..].starts_with(&word_l) {
            let end = i + word_l.len();
            let before_ok = i == 0 || separators.contains(&(bytes[i - 1] as char));
            let after_ok = end == s.len() || separators.contains(&(bytes[end] as char));
            if before_ok && after_ok && s.is_char_boundary(end) {
                out.push_str(with);
                i = end;
                continue;
            }
        }
        let c = s[i..].chars().next().expect("char");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// The service name with the environment's name removed as a whole `-`/`_` token
/// (`api-prod` → `api`, `prod_api` → `api`), for pairing services without a contract.
pub fn strip_env(name: &str, env: &str) -> String {
    let tokens: Vec<&str> = name.split(['-', '_']).collect();
    let envs = aliases(env);
    let kept: Vec<&str> = tokens
        .iter()
        .copied()
        .filter(|t| !envs.iter().any(|e| e.eq_ignore_ascii_case(t)))
        .collect();
    if kept.is_empty() || kept.len() == tokens.len() {
        return name.to_string();
    }
    kept.join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_env_tokens_and_projects() {
        let projects = vec!["jualuma-dev".to_string()];
        assert_eq!(
            normalise(
                "projects/jualuma-dev/locations/us-central1/connectors/jualuma-dev-connector",
                "dev",
                &projects
            ),
            "projects/{project}/locations/us-central1/connectors/jualuma-{env}-connector"
        );
        assert_eq!(normalise("devices", "dev", &[]), "devices");
        assert_eq!(normalise("api-production", "prod", &[]), "api-{env}");
    }

    #[test]
    fn strips_env_names_from_service_names() {
        assert_eq!(strip_env("api-prod", "prod"), "api");
        assert_eq!(strip_env("prod_api", "prod"), "api");
        assert_eq!(strip_env("jualuma-backend", "prod"), "jualuma-backend");
        assert_eq!(strip_env("product-api", "prod"), "product-api");
        assert_eq!(strip_env("prod", "prod"), "prod");
    }
}
