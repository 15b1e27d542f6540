//! A patch: whole-file changes shown as a unified diff that `git apply` accepts, and applied
//! atomically (a temporary file, then a rename, per file), refusing when a file changed since
//! it was read.

use std::path::{Path, PathBuf};

use similar::TextDiff;

use crate::error::{Error, Result};

/// One file of a patch: its text as read (None for a new file) and as it should become.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// Where the file is on disk.
    pub path: PathBuf,
    /// The path the diff headers show (`a/<shown>`, `b/<shown>`), with `/`.
    pub shown: String,
    /// The content read before planning; None when the file is new.
    pub before: Option<String>,
    pub after: String,
}

impl FileChange {
    pub fn is_new(&self) -> bool {
        self.before.is_none()
    }

    /// Whether the change changes anything.
    pub fn changes(&self) -> bool {
        self.before.as_deref() != Some(self.after.as_str())
    }

    /// The unified diff of this file (empty when nothing changes).
    pub fn diff(&self) -> String {
        if !self.changes() {
            return String::new();
        }
        let before = self.before.as_deref().unwrap_or("");
        let old_header = if self.is_new() {
            "/dev/null".to_string()
        } else {
            format!("a/{}", self.shown)
        };
        let new_header = format!("b/{}", self.shown);
        let diff = TextDiff::from_lines(before, self.after.as_str());
        let body = diff
            .unified_diff()
            .context_radius(3)
            .header(&old_header, &new_header)
            .to_string();
        let mut out = format!("diff --git a/{0} b/{0}\n", self.shown);
        if self.is_new() {
            out.push_str("new file mode 100644\n");
        }
        out.push_str(&body);
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out
    }

    /// Lines added and removed.
    pub fn counts(&self) -> (usize, usize) {
        let before = self.before.as_deref().unwrap_or("");
        let diff = TextDiff::from_lines(before, self.after.as_str());
        let mut added = 0;
        let mut removed = 0;
        for op in diff.ops() {
            for change in diff.iter_changes(op) {
                match change.tag() {
                    similar::ChangeTag::Insert => added += 1,
                    similar::ChangeTag::Delete => removed += 1,
                    similar::ChangeTag::Equal => {}
                }
            }
        }
        (added, removed)
    }
}

/// Changes to several files, sorted by the path shown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Patch {
    pub files: Vec<FileChange>,
}

impl Patch {
    pub fn new(mut files: Vec<FileChange>) -> Patch {
        files.retain(FileChange::changes);
        files.sort_by(|a, b| a.shown.cmp(&b.shown));
        Patch { files }
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The whole patch as a unified diff (empty when nothing changes).
    pub fn diff(&self) -> String {
        self.files.iter().map(FileChange::diff).collect()
    }

    /// (files, lines added, lines removed).
    pub fn stats(&self) -> (usize, usize, usize) {
        let (mut added, mut removed) = (0, 0);
        for f in &self.files {
            let (a, r) = f.counts();
            added += a;
            removed += r;
        }
        (self.files.len(), added, removed)
    }

    /// Writes every file. Refuses, writing nothing, when a file differs from what was read (or
    /// a new file appeared meanwhile); then writes each file atomically.
    pub fn write(&self) -> Result<()> {
        for f in &self.files {
            if f.path.components().any(|c| c.as_os_str() == ".terraform") {
                return Err(Error::Usage(format!(
                    "refusing to write {}: tfparity never edits files under .terraform/",
                    f.shown
                )));
            }
            let now = match std::fs::read(&f.path) {
                Ok(bytes) => Some(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(Error::io(&f.path, e)),
            };
            let unchanged = match (&f.before, &now) {
                (None, None) => true,
                (Some(b), Some(n)) => b.as_bytes() == n.as_slice(),
                _ => false,
            };
            if !unchanged {
                return Err(Error::Usage(format!(
                    "{} changed since tfparity read it ({}): nothing was written; run the command again",
                    f.shown,
                    match (&f.before, &now) {
                        (None, Some(_)) => "it now exists",
                        (Some(_), None) => "it was deleted",
                        _ => "its content differs",
                    }
                )));
            }
        }
        for f in &self.files {
            crate::app::write_atomic(&f.path, f.after.as_bytes())?;
        }
        Ok(())
    }
}

/// The path a diff shows for `path`: relative to the git repository that holds the working
/// directory (where `git apply` resolves paths), or to the working directory outside one.
pub fn shown_path(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let cwd = cwd.canonicalize().unwrap_or(cwd);
    let base = cwd
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cwd.clone());
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    // Canonicalise the directory (the file itself may not exist yet).
    let abs = match (abs.parent(), abs.file_name()) {
        (Some(parent), Some(name)) => parent
            .canonicalize()
            .map(|p| p.join(name))
            .unwrap_or_else(|_| abs.clone()),
        _ => abs.clone(),
    };
    let rel = abs
        .strip_prefix(&base)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| relative(&abs, &cwd));
    rel.to_string_lossy().replace('\\', "/")
}

/// `path` relative to `base` with `..` where needed.
fn relative(path: &Path, base: &Path) -> PathBuf {
    let pc: Vec<_> = path.components().collect();
    let bc: Vec<_> = base.components().collect();
    let common = pc.iter().zip(&bc).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..bc.len() {
        out.push("..");
    }
    for c in &pc[common..] {
        out.push(c.as_os_str());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(before: Option<&str>, after: &str) -> FileChange {
        FileChange {
            path: PathBuf::from("/nowhere/x.tf"),
            shown: "infra/x.tf".into(),
            before: before.map(str::to_string),
            after: after.to_string(),
        }
    }

    #[test]
    fn diff_has_git_headers() {
        let d = change(Some("a = 1\nb = 2\n"), "a = 1\nb = 3\n").diff();
        assert!(
            d.starts_with(
                "diff --git a/infra/x.tf b/infra/x.tf\n--- a/infra/x.tf\n+++ b/infra/x.tf\n@@ "
            ),
            "{d}"
        );
        assert!(d.contains("-b = 2\n+b = 3\n"), "{d}");
    }

    #[test]
    fn new_files_come_from_dev_null() {
        let d = change(None, "a = 1\n").diff();
        assert!(
            d.contains(
                "new file mode 100644\n--- /dev/null\n+++ b/infra/x.tf\n@@ -0,0 +1 @@\n+a = 1\n"
            ),
            "{d}"
        );
    }

    #[test]
    fn unchanged_files_leave_the_patch() {
        let p = Patch::new(vec![change(Some("a\n"), "a\n")]);
        assert!(p.is_empty());
        assert_eq!(p.diff(), "");
        assert_eq!(p.stats(), (0, 0, 0));
    }

    #[test]
    fn missing_final_newline_is_marked() {
        let d = change(Some("a = 1"), "a = 2").diff();
        assert!(d.contains("\\ No newline at end of file"), "{d}");
    }

    #[test]
    fn writing_refuses_when_a_file_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.tf");
        std::fs::write(&path, "a = 1\n").unwrap();
        let mut c = change(Some("a = 1\n"), "a = 2\n");
        c.path = path.clone();
        let p = Patch::new(vec![c.clone()]);
        std::fs::write(&path, "a = 5\n").unwrap();
        let e = p.write().unwrap_err().to_string();
        assert!(e.contains("changed since tfparity read it"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a = 5\n");
        std::fs::write(&path, "a = 1\n").unwrap();
        p.write().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a = 2\n");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn writing_refuses_when_a_new_file_appeared() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.tf");
        let mut c = change(None, "a = 2\n");
        c.path = path.clone();
        let p = Patch::new(vec![c]);
        std::fs::write(&path, "mine\n").unwrap();
        assert!(p.write().is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine\n");
    }

    #[test]
    fn relative_paths_climb() {
        assert_eq!(
            relative(Path::new("/a/b/c.tf"), Path::new("/a/d")),
            PathBuf::from("../b/c.tf")
        );
    }
}
