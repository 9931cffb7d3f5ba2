//! CPU time of `Tagger::summarize` per dispatch, model load excluded
//! (this thread's on-CPU time from `/proc/thread-self/schedstat`, so time
//! spent waiting for a core on a busy machine is not counted; wall time
//! where that file does not exist):
//!
//! ```sh
//! cargo run --release --example summarize_cpu -- [--data ../shared/data] [--passes 5] [--limit 0]
//! ```
//!
//! Runs every dev document of bbcsum-en and orangesum-fr (language given,
//! title given, as `bench/rouge.py` does) `--passes` times on one thread
//! and prints, per corpus, the mean words per document, the best pass's
//! microseconds per document and per 600 words (time per word x 600), and
//! the same for the documents of 500-700 words. The best pass is reported
//! because the machine is shared: slower passes measure other processes.
//! Under `valgrind --tool=callgrind` use `--passes 1 --limit 200`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Nanoseconds this thread has run on a CPU, or wall nanoseconds since
/// `origin` when the kernel does not say.
fn cpu_ns(origin: Instant) -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| origin.elapsed().as_nanos() as u64)
}

use anyhow::{Context, Result, bail};
use dispatch_tagger::model::Model;
use dispatch_tagger::summarize::Budget;
use dispatch_tagger::tagger::Tagger;
use dispatch_tagger::text::Lang;

fn main() -> Result<()> {
    let mut data = PathBuf::from("../shared/data");
    let mut passes = 5usize;
    let mut limit = 0usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data = args.next().context("--data DIR")?.into(),
            "--passes" => passes = args.next().context("--passes N")?.parse()?,
            "--limit" => limit = args.next().context("--limit N")?.parse()?,
            other => bail!("unknown argument {other:?}: use --data, --passes, --limit"),
        }
    }
    let tagger = Tagger::new(Arc::new(Model::embedded()?));
    for (stem, lang, k) in [
        ("bbcsum-en-dev", Lang::En, 3),
        ("orangesum-fr-dev", Lang::Fr, 2),
    ] {
        let path = data.join("corpora").join(format!("{stem}.jsonl.gz"));
        let file = std::fs::File::open(&path).with_context(|| path.display().to_string())?;
        let mut docs: Vec<(String, String, usize)> = Vec::new();
        for line in BufReader::new(flate2::read::MultiGzDecoder::new(file)).lines() {
            let rec: serde_json::Value = serde_json::from_str(&line?)?;
            let field = |k: &str| rec[k].as_str().unwrap_or_default().to_string();
            let text = field("text");
            let words = text.split_whitespace().count();
            docs.push((field("title"), text, words));
            if limit > 0 && docs.len() == limit {
                break;
            }
        }
        let mid: Vec<usize> = (0..docs.len())
            .filter(|&i| (500..=700).contains(&docs[i].2))
            .collect();
        let mut best_all = f64::INFINITY;
        let mut best_mid = f64::INFINITY;
        let mut picked = 0usize;
        let origin = Instant::now();
        for _ in 0..passes.max(1) {
            let mut mid_ns = 0;
            let start = cpu_ns(origin);
            for (i, (title, text, _)) in docs.iter().enumerate() {
                // The clock is read around the 500-700 word documents only.
                let timed = mid.binary_search(&i).is_ok();
                let t = if timed { cpu_ns(origin) } else { 0 };
                let s = tagger.summarize(title, text, Some(lang), Budget::sentences(k));
                if timed {
                    mid_ns += cpu_ns(origin) - t;
                }
                picked += s.sentences.len();
            }
            best_all = best_all.min((cpu_ns(origin) - start) as f64 * 1e-9);
            best_mid = best_mid.min(mid_ns as f64 * 1e-9);
        }
        let words: usize = docs.iter().map(|d| d.2).sum();
        let mid_words: usize = mid.iter().map(|&i| docs[i].2).sum();
        let n = docs.len().max(1) as f64;
        println!(
            "{stem}: {} docs, {:.0} words/doc: {:.1} us/doc, {:.1} us per 600 words; {} docs of 500-700 words: {:.1} us/doc, {:.1} us per 600 words ({picked} sentences picked)",
            docs.len(),
            words as f64 / n,
            best_all * 1e6 / n,
            best_all * 1e6 / words.max(1) as f64 * 600.0,
            mid.len(),
            best_mid * 1e6 / mid.len().max(1) as f64,
            best_mid * 1e6 / mid_words.max(1) as f64 * 600.0,
        );
    }
    Ok(())
}
