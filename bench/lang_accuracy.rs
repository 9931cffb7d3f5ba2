//! Language-detection accuracy and cost on every dev split and on its
//! briefs (the titles), as callers without a hint get it:
//!
//! ```sh
//! cargo run --release --example lang_accuracy -- [--data ../shared/data]
//! ```
//!
//! For each `*-dev` split: records, share whose detected language (title
//! and cleaned body, as `Tagger::classify` detects it) is the record's,
//! how many came out "und", and the same for the titles alone (records
//! with a title of three words or more). Then the mean CPU time of one
//! detection on the bodies and on the briefs.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use cpu_time::ThreadTime;
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
            "{:5} {:7.2}% {:4}",
            self.n,
            100.0 * self.right as f64 / self.n.max(1) as f64,
            self.und
        )
    }
}

fn main() -> Result<()> {
    let mut data = PathBuf::from("../shared/data");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data = args.next().context("--data DIR")?.into(),
            other => bail!("unknown argument {other:?}: use --data"),
        }
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(data.join("corpora"))
        .with_context(|| format!("{}/corpora", data.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with("-dev.jsonl.gz"))
        .collect();
    paths.sort();
    println!(
        "{:22} {:>5} {:>8} {:>4} | {:>5} {:>8} {:>4}",
        "split", "docs", "right", "und", "briefs", "right", "und"
    );
    let (mut body_ns, mut bodies, mut brief_ns, mut briefs) = (0u128, 0u32, 0u128, 0u32);
    let mut all = (
        Tally {
            n: 0,
            right: 0,
            und: 0,
        },
        Tally {
            n: 0,
            right: 0,
            und: 0,
        },
    );
    for path in paths {
        let mut docs = Tally {
            n: 0,
            right: 0,
            und: 0,
        };
        let mut titles = Tally {
            n: 0,
            right: 0,
            und: 0,
        };
        let file = std::fs::File::open(&path)?;
        for line in BufReader::new(flate2::read::MultiGzDecoder::new(file)).lines() {
            let rec: serde_json::Value = serde_json::from_str(&line?)?;
            let field = |k: &str| rec[k].as_str().unwrap_or_default().to_string();
            let Ok(Some(want)) = Lang::from_hint(&field("lang")) else {
                continue;
            };
            let (title, body) = (field("title"), field("text"));
            let both = detection_text(&title, &body);
            let t = ThreadTime::now();
            let got = text::lang::detect(&both);
            body_ns += t.elapsed().as_nanos();
            bodies += 1;
            docs.add(got, want);
            all.0.add(got, want);
            if title.split_whitespace().count() >= 3 {
                let t = ThreadTime::now();
                let got = text::lang::detect(&title);
                brief_ns += t.elapsed().as_nanos();
                briefs += 1;
                titles.add(got, want);
                all.1.add(got, want);
            }
        }
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        println!(
            "{:22} {} | {}",
            name.trim_end_matches(".jsonl.gz"),
            docs.show(),
            titles.show()
        );
    }
    println!("{:22} {} | {}", "all", all.0.show(), all.1.show());
    println!(
        "CPU per detection: {:.1} us on title+body, {:.1} us on a brief",
        body_ns as f64 / f64::from(bodies.max(1)) / 1e3,
        brief_ns as f64 / f64::from(briefs.max(1)) / 1e3
    );
    Ok(())
}
