//! `check` loads resource values for the model alone (`ValueReaders::ModelOnly`), leaving out
//! empty blocks and maps. The graph and model built from them must be exactly those built
//! from values loaded whole, on every plan and state at hand.

mod common;

use std::path::{Path, PathBuf};

use tfparity::graph::ResourceGraph;
use tfparity::load::{LoadOptions, ValueReaders, load_source};

fn model_json(path: &Path, readers: ValueReaders) -> Option<(String, usize)> {
    let opts = LoadOptions {
        readers,
        ..LoadOptions::default()
    };
    // Files a loader refuses are another test's business.
    let inventory = load_source(path, &opts).ok()?;
    let graph = ResourceGraph::build(&inventory);
    let model = tfparity::model::build("env", &graph);
    let entries = inventory
        .resources
        .iter()
        .map(|r| r.values.to_json().to_string().len())
        .sum();
    Some((serde_json::to_string(&model).unwrap(), entries))
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn models_from_model_only_values_are_the_models_from_whole_values() {
    let root = common::root();
    let mut files = json_files(&root.join("fixtures/plans"));
    let corpus = root.join("../shared/corpus");
    if corpus.is_dir() {
        files.extend(json_files(&corpus.join("plan-json")));
        files.extend(json_files(&corpus.join("state-json")));
    } else {
        eprintln!(
            "model_only_values: {} does not exist; compared the repository's fixtures only",
            corpus.display()
        );
    }
    let (mut compared, mut smaller) = (0, 0);
    for file in &files {
        let Some((whole, whole_size)) = model_json(file, ValueReaders::All) else {
            continue;
        };
        let (lean, lean_size) =
            model_json(file, ValueReaders::ModelOnly).expect("loads as it loaded whole");
        assert_eq!(whole, lean, "{}", file.display());
        compared += 1;
        smaller += usize::from(lean_size < whole_size);
    }
    assert!(compared >= 2, "compared {compared} files");
    // The values did get smaller somewhere: the comparison is not between two equal loads.
    assert!(smaller >= 1, "no file had empty values left out");
}
