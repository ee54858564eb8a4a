//! Times the layer walk on layer blobs from disk, for `scripts/bench/layers`.
//!
//! usage: layer_walk [--analyzer none|catalog] [--parallel N] LAYER...
//! Prints one line: `seconds=<s> bytes=<compressed bytes> layers=<n>`. The script compares
//! it with `zcat` of the same files, measured in the same run.

use std::io::Read;
use std::sync::Mutex;
use std::time::Instant;

use crowsnest_acquire::walk::{LayerExpectations, Limits, walk_layer};
use crowsnest_catalog::Cataloger;
use crowsnest_model::layer::LayerAnalyzer;

/// Wants nothing: the bare walk (inflate, hash, tar headers).
struct Nothing;

impl LayerAnalyzer for Nothing {
    type Output = ();
    fn cache_key(&self) -> String {
        "bench-nothing".into()
    }
    fn wants(&self, _: &str, _: u64, _: u32) -> bool {
        false
    }
    fn analyze(&self, _: &str, _: u64, _: &mut dyn Read) -> Result<(), String> {
        Ok(())
    }
}

fn run<A: LayerAnalyzer>(analyzer: &A, layers: &[String], parallel: usize) -> usize {
    let queue = Mutex::new(layers.iter());
    let entries = Mutex::new(0usize);
    std::thread::scope(|s| {
        for _ in 0..parallel {
            s.spawn(|| {
                loop {
                    let next = queue.lock().unwrap().next();
                    let Some(path) = next else { break };
                    let file = std::fs::File::open(path).expect("layer file");
                    let walked = walk_layer(
                        file,
                        &LayerExpectations::default(),
                        analyzer,
                        &Limits::default(),
                    )
                    .unwrap_or_else(|e| panic!("{path}: {e}"));
                    *entries.lock().unwrap() += walked.entries.len();
                }
            });
        }
    });
    entries.into_inner().unwrap()
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut analyzer = "none".to_string();
    let mut parallel = 1usize;
    let mut layers = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--analyzer" => analyzer = args.next().expect("--analyzer value"),
            "--parallel" => {
                parallel = args
                    .next()
                    .expect("--parallel value")
                    .parse()
                    .expect("a number")
            }
            _ => layers.push(a),
        }
    }
    if layers.is_empty() {
        eprintln!("usage: layer_walk [--analyzer none|catalog] [--parallel N] LAYER...");
        return;
    }
    let bytes: u64 = layers
        .iter()
        .map(|l| std::fs::metadata(l).map(|m| m.len()).unwrap_or(0))
        .sum();
    let start = Instant::now();
    let entries = match analyzer.as_str() {
        "catalog" => run(&Cataloger, &layers, parallel),
        _ => run(&Nothing, &layers, parallel),
    };
    println!(
        "seconds={:.3} bytes={bytes} layers={} entries={entries}",
        start.elapsed().as_secs_f64(),
        layers.len()
    );
}
