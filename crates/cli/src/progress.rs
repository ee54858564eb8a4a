//! Progress bars on stderr for long pulls: only on a terminal, never in pipes or CI logs.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use crowsnest_acquire::image::{Image, Progress, ProgressFn};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Builds a progress callback with one bar per layer, or `None` when stderr is not a
/// terminal or the user asked for quiet.
pub fn layer_bars(image: &Image, quiet: bool) -> Option<ProgressFn> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {bytes}/{total_bytes} {msg}")
        .expect("static template")
        .progress_chars("=> ");
    let bars: Vec<ProgressBar> = image
        .layers()
        .iter()
        .map(|l| {
            let bar = multi.add(ProgressBar::new(l.descriptor.size));
            bar.set_style(style.clone());
            bar.set_prefix(l.descriptor.digest.short()[7..].to_string());
            bar
        })
        .collect();
    let bars = Arc::new(Mutex::new(bars));
    Some(Arc::new(move |p: Progress| {
        let bars = bars.lock().expect("progress lock");
        match p {
            Progress::Started { layer, .. } => {
                if let Some(b) = bars.get(layer) {
                    b.set_message("reading");
                }
            }
            Progress::Bytes { layer, read } => {
                if let Some(b) = bars.get(layer) {
                    b.inc(read);
                }
            }
            Progress::Finished { layer, cached } => {
                if let Some(b) = bars.get(layer) {
                    b.finish_with_message(if cached { "cached" } else { "done" });
                }
            }
        }
    }))
}
