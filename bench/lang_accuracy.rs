//! Language-detection accuracy and cost on every dev split and on its
//! briefs (the titles), as callers without a hint get it:
//!
//! ```sh
//! cargo run --release --example lang_accuracy -- [--data ../shared/data] [--model FILE]
//! ```
//!
//! For each `*-dev` split: records; the share whose detected language
//! (title and cleaned body, as `Tagger::classify` detects it) is the
//! record's, how many came out "und" and how many another language, first
//! by function words and whatlang alone, then with the model's vocabulary
//! for what those leave unsettled (as served); and the same for the titles
//! alone (records with a title of three words or more). Then the mean CPU
//! time of one detection as served, on the bodies and on the briefs. The default is
//! the embedded model, which learned from the dev splits; a model trained
//! on the train splits alone (`train --measured-out FILE`) gives the
//! figures of text it has not seen.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use cpu_time::ThreadTime;
use dispatch_tagger::model::Model;
use dispatch_tagger::text::{self, Lang};

/// What `prepare` hands to detection: the title (given or found) and the
/// cleaned body.
fn detection_text(title: &str, text: &str) -> String {
    let cleaned = text::clean(text);
    let title = if title.trim().is_empty() {
        cleaned.headline().map(|r| &text[r]).unwrap_or("")
    } else {
        title.trim()
    };
    format!("{title}\n{}", cleaned.body_text(text))
}

/// Detections of one set of texts against their languages.
#[derive(Default, Clone, Copy)]
struct Tally {
    n: usize,
    right: usize,
    und: usize,
}

impl Tally {
    fn add(&mut self, got: Lang, want: Lang) {
        self.n += 1;
        self.right += usize::from(got == want);
        self.und += usize::from(got == Lang::Und);
    }
    fn show(&self) -> String {
        format!(
            "{:7.2}% {:4} {:3}",
            100.0 * self.right as f64 / self.n.max(1) as f64,
            self.und,
            self.n - self.right - self.und
        )
    }
}

/// The same texts detected without the model's vocabulary
/// (`text::lang::detect`: function words, then whatlang) and with it
/// (`Model::detect_language`, as the service detects).
#[derive(Default, Clone, Copy)]
struct Pair {
    words: Tally,
    model: Tally,
}

impl Pair {
    fn show(&self) -> String {
        format!(
            "{:5} {} {}",
            self.model.n,
            self.words.show(),
            self.model.show()
        )
    }
}

fn main() -> Result<()> {
    let mut data = PathBuf::from("../shared/data");
    let mut model_path: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data = args.next().context("--data DIR")?.into(),
            "--model" => model_path = Some(args.next().context("--model FILE")?.into()),
            other => bail!("unknown argument {other:?}: use --data or --model"),
        }
    }
    let model = match &model_path {
        Some(p) => Model::load(p)?,
        None => Model::embedded()?,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(data.join("corpora"))
        .with_context(|| format!("{}/corpora", data.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with("-dev.jsonl.gz"))
        .collect();
    paths.sort();
    println!("right / und / wrong without the model's vocabulary, then with it (as served)");
    println!(
        "{:20} {:>5} {:>17} {:>17} | {:>5} {:>17} {:>17}",
        "split", "docs", "words only", "with vocabulary", "briefs", "words only", "with vocabulary"
    );
    let (mut body_ns, mut bodies, mut brief_ns, mut briefs) = (0u128, 0u32, 0u128, 0u32);
    let (mut all_docs, mut all_titles) = (Pair::default(), Pair::default());
    for path in paths {
        let (mut docs, mut titles) = (Pair::default(), Pair::default());
        let file = std::fs::File::open(&path)?;
        for line in BufReader::new(flate2::read::MultiGzDecoder::new(file)).lines() {
            let rec: serde_json::Value = serde_json::from_str(&line?)?;
            let field = |k: &str| rec[k].as_str().unwrap_or_default().to_string();
            let Ok(Some(want)) = Lang::from_hint(&field("lang")) else {
                continue;
            };
            let (title, body) = (field("title"), field("text"));
            let both = detection_text(&title, &body);
            docs.words.add(text::lang::detect(&both), want);
            let t = ThreadTime::now();
            let got = model.detect_language(&both);
            body_ns += t.elapsed().as_nanos();
            bodies += 1;
            docs.model.add(got, want);
            if title.split_whitespace().count() >= 3 {
                titles.words.add(text::lang::detect(&title), want);
                let t = ThreadTime::now();
                let got = model.detect_language(&title);
                brief_ns += t.elapsed().as_nanos();
                briefs += 1;
                titles.model.add(got, want);
            }
        }
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        println!(
            "{:20} {} | {}",
            name.trim_end_matches(".jsonl.gz"),
            docs.show(),
            titles.show()
        );
        for (all, one) in [(&mut all_docs, docs), (&mut all_titles, titles)] {
            for (a, o) in [(&mut all.words, one.words), (&mut all.model, one.model)] {
                a.n += o.n;
                a.right += o.right;
                a.und += o.und;
            }
        }
    }
    println!("{:20} {} | {}", "all", all_docs.show(), all_titles.show());
    println!(
        "CPU per detection as served: {:.1} us on title+body, {:.1} us on a brief",
        body_ns as f64 / f64::from(bodies.max(1)) / 1e3,
        brief_ns as f64 / f64::from(briefs.max(1)) / 1e3
    );
    Ok(())
}
