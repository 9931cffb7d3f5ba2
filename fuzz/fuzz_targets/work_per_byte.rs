//! Work per byte of classify and summarize on generated pages: the input is
//! a page; the same page repeated to 16 times the length may cost at most
//! about 16 times the steps (`dispatch_tagger::work`, counted with the
//! `work-count` feature), so no text can make a stage super-linear.
#![no_main]

use std::sync::{Arc, OnceLock};

use dispatch_tagger::model::Model;
use dispatch_tagger::summarize::Budget;
use dispatch_tagger::tagger::{ClassifyOptions, Tagger};
use dispatch_tagger::work;
use libfuzzer_sys::fuzz_target;

/// The smaller page is the input repeated to at least this many bytes, so
/// that bounded stages (language detection reads 4 KiB) do not dominate.
const SMALL_BYTES: usize = 4096;

/// Steps of 16 times the page over steps of the page: 16 is linear, a
/// quadratic stage gives about 256.
const MAX_GROWTH: f64 = 20.0;

fn tagger() -> &'static Tagger {
    static TAGGER: OnceLock<Tagger> = OnceLock::new();
    TAGGER.get_or_init(|| Tagger::new(Arc::new(Model::embedded().expect("embedded model"))))
}

fn steps(text: &str) -> u64 {
    let opts = ClassifyOptions {
        language: None,
        max_topics: 3,
        max_regions: 4,
        min_score: None,
        explain: true,
        home_country: None,
        candidate_topics: Vec::new(),
    };
    work::take();
    tagger().classify("", text, &opts);
    tagger().summarize("", text, None, Budget::sentences(3));
    work::take()
}

fuzz_target!(|data: &[u8]| {
    let page = String::from_utf8_lossy(data);
    if page.trim().is_empty() {
        return;
    }
    let small = page.repeat(SMALL_BYTES.div_ceil(page.len()));
    let large = small.repeat(16);
    let (a, b) = (steps(&small), steps(&large));
    let growth = b as f64 / a.max(1) as f64;
    assert!(
        growth <= MAX_GROWTH,
        "16x the page cost {growth:.1}x the steps ({a} -> {b}, {:.0} steps per byte)",
        b as f64 / large.len() as f64
    );
});
