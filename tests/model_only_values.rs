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
    // The graph's links too: some (a forwarding rule to its proxy) reach no model field.
    let resources = &inventory.resources;
    let mut edges: Vec<String> = Vec::new();
    for (i, from) in resources.iter().enumerate() {
        for (j, kind) in graph.outgoing(i) {
            let to = &resources[j].address;
            edges.push(format!("{} -{}-> {to}", from.address, kind.as_str()));
        }
    }
    edges.sort();
    let model = serde_json::to_string(&model).unwrap();
    Some((format!("{model}\n{}", edges.join("\n")), entries))
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
    // A plan written so that each attribute of `MODEL_ATTRIBUTES` the plans above never need
    // (a secret known only by `id`, a service account only by `email`, a load balancer
    // chain...) changes its models when left out; but `target` (forwarding rule to proxy),
    // which links only the graph, and the graph is not compared here.
    files.extend(json_files(&root.join("fixtures/model-attributes")));
    let own = files.len();
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
    for (n, file) in files.iter().enumerate() {
        let Some((whole, whole_size)) = model_json(file, ValueReaders::All) else {
            // The repository's own fixtures load: one refused would compare nothing, silently.
            assert!(n >= own, "{} does not load", file.display());
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
