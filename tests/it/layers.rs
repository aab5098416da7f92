//! The folders are the architecture: each top-level module of the library sits in a layer and
//! uses only layers below it (the map in src/lib.rs and README.md, Architecture). A reference
//! upwards or sideways is a cycle waiting to happen; this test names it.

use std::collections::BTreeMap;
use std::path::Path;

/// Layer of each top-level module, lowest first. Keep in step with src/lib.rs.
const LAYERS: &[(&str, u32)] = &[
    ("error", 0),
    ("failpoint", 1),
    ("fsutil", 1),
    ("names", 1),
    ("versioned", 1),
    ("record", 1),
    ("signals", 1),
    ("time", 1),
    ("watch", 2),
    ("output", 2),
    ("input", 3),
    ("partitioner", 2),
    ("log", 4),
    ("cluster", 5),
    ("replica", 6),
    ("topics", 7),
    ("produce", 8),
    ("consume", 8),
    ("group", 9),
    ("controller", 9),
    ("stream", 10),
    ("client", 11),
    ("mirror", 12),
    ("snapshot", 11),
];

fn rs_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let layers: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let mut wrong = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        // The binary (main.rs, cli.rs, cmd/, logging.rs, complete.rs) sits above the library.
        if ["main", "cli", "cmd", "logging", "complete", "lib"].contains(&module.as_str()) {
            continue;
        }
        let Some(&mine) = layers.get(module.as_str()) else {
            wrong.push(format!(
                "src/{module}: not in the layer table of tests/it/layers.rs"
            ));
            continue;
        };
        let text = std::fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(i) = rest.find("crate::") {
                rest = &rest[i + "crate::".len()..];
                // `crate::{a::X, b}` names several.
                let group = if let Some(g) = rest.strip_prefix('{') {
                    g.split('}').next().unwrap_or("")
                } else {
                    rest
                };
                let firsts = group.split(',').map(|s| {
                    s.trim()
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect::<String>()
                });
                for dep in firsts.collect::<Vec<_>>() {
                    if dep == module || dep.is_empty() {
                        continue;
                    }
                    // Macros exported at the crate root (crash_point!, pause_point!) live in
                    // failpoint.
                    let dep = if dep.ends_with("_point") {
                        "failpoint".to_string()
                    } else {
                        dep
                    };
                    match layers.get(dep.as_str()) {
                        Some(&theirs) if theirs < mine => {}
                        Some(&theirs) => wrong.push(format!(
                            "{}:{}: {module} (layer {mine}) uses {dep} (layer {theirs})",
                            rel.display(),
                            n + 1
                        )),
                        None => {}
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}
