//! Rebuilds `models/summarizer.tsv`, the summarizer's learned sentence
//! scorer, from the training splits of the shared data package:
//!
//! ```sh
//! cargo run --release --example train_summarizer -- [--data ../shared/data] [--out models/summarizer.tsv]
//! ```
//!
//! English is fitted on bbcsum-en-train (3-sentence summaries), French on
//! orangesum-fr-train (2 sentences); see `dispatch_tagger::summarize::learn`
//! for the labels and the held-out model selection. Deterministic: the same
//! data and embedded model give the same file. Dev splits are never read.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use dispatch_tagger::model::Model;
use dispatch_tagger::summarize::Scorer;
use dispatch_tagger::summarize::learn::{self, Doc, Fitted};
use dispatch_tagger::summarize::scorer::{ScorerSet, TermLogOdds};
use dispatch_tagger::text::Lang;
use rayon::prelude::*;

/// Corpus file stem, language, summary length in sentences.
const CORPORA: [(&str, Lang, usize); 2] = [
    ("bbcsum-en-train", Lang::En, 3),
    ("orangesum-fr-train", Lang::Fr, 2),
];

/// Title, text and reference summary of one training record.
type Record = (String, String, String);

fn main() -> Result<()> {
    let (data, out) = parse_args()?;
    let model = Model::embedded()?;
    let mut header = vec![
        "dispatch-tagger summarizer: logistic sentence scorers, one per language.".to_string(),
        "Written by `cargo run --release --example train_summarizer -- --data DATA --out FILE`;"
            .to_string(),
        "do not edit by hand. Features and labels: src/summarize/learn.rs.".to_string(),
    ];
    let mut scorers = Vec::new();
    for (stem, lang, k) in CORPORA {
        let path = data.join("corpora").join(format!("{stem}.jsonl.gz"));
        let records = read(&path)?;
        let (line, scorer) = fit_corpus(stem, &records, lang, k, &model);
        header.push(line);
        scorers.push(scorer);
    }
    let fr = scorers.pop().context("French scorer")?;
    let en = scorers.pop().context("English scorer")?;
    let tsv = ScorerSet { en, fr }.to_tsv(&header);
    std::fs::write(&out, tsv).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// The data directory and the output file from `--data DIR` and
/// `--out FILE`, each with its default.
fn parse_args() -> Result<(PathBuf, PathBuf)> {
    let mut data = PathBuf::from("../shared/data");
    let mut out = PathBuf::from("models/summarizer.tsv");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data = args.next().context("--data DIR")?.into(),
            "--out" => out = args.next().context("--out FILE")?.into(),
            other => bail!("unknown argument {other:?}: use --data DIR, --out FILE"),
        }
    }
    Ok((data, out))
}

/// Whether record `i` is fitted on: every tenth record is held out to
/// choose the label kind, redundancy and floor; the word log-odds come from
/// the others.
fn is_fitting(i: usize) -> bool {
    !i.is_multiple_of(10)
}

/// Fits the scorer of corpus `stem` (language `lang`, `k`-sentence
/// summaries) on its `records`, reporting the candidates on stderr; returns
/// the scorer and its line for the file header.
fn fit_corpus(
    stem: &str,
    records: &[Record],
    lang: Lang,
    k: usize,
    model: &Model,
) -> (String, Scorer) {
    let terms = learn::term_log_odds(
        records
            .iter()
            .enumerate()
            .filter(|(i, _)| is_fitting(*i))
            .map(|(_, (_, text, summary))| (text.as_str(), summary.as_str())),
    );
    let docs = analyse_records(records, lang, model, &terms);
    let (train, held) = split(&docs);
    eprintln!(
        "{stem}: {} records, {} usable, {} words with log-odds",
        records.len(),
        docs.len(),
        terms.len()
    );
    let fitted = learn::fit(&train, &held, k, terms);
    for t in &fitted.tried {
        eprintln!("  {t}");
    }
    let line = describe(stem, docs.len(), k, &fitted);
    eprintln!("{line}");
    (line, fitted.scorer)
}

/// Every record of `records` with a body sentence and a reference, analysed
/// with the term log-odds `terms`, with its index, in record order.
fn analyse_records(
    records: &[Record],
    lang: Lang,
    model: &Model,
    terms: &TermLogOdds,
) -> Vec<(usize, Doc)> {
    let with_terms = Scorer {
        terms: terms.clone(),
        ..Scorer::default()
    };
    records
        .par_iter()
        .enumerate()
        .filter_map(|(i, (title, text, summary))| {
            learn::prepare(text, title, lang, summary, model, &with_terms).map(|d| (i, d))
        })
        .collect()
}

/// The documents fitted on and the held-out ones, each in record order.
fn split(docs: &[(usize, Doc)]) -> (Vec<&Doc>, Vec<&Doc>) {
    let part = |fitting: bool| {
        docs.iter()
            .filter(|(i, _)| is_fitting(*i) == fitting)
            .map(|(_, d)| d)
            .collect()
    };
    (part(true), part(false))
}

/// The header line that says what was fitted on corpus `stem` and how it
/// scored on the held-out tenth.
fn describe(stem: &str, docs: usize, k: usize, fitted: &Fitted) -> String {
    format!(
        "{stem} ({docs} documents), at most {k} sentences: labels = {}, word log-odds {}, redundancy {}, floor {}; held-out tenth {} vs Lead-{} {} (unstemmed ROUGE)",
        fitted.labels,
        if fitted.scorer.terms.is_empty() {
            "off"
        } else {
            "on"
        },
        fitted.scorer.redundancy,
        fitted.scorer.floor,
        fitted.held_out,
        fitted.lead.0,
        fitted.lead.1
    )
}

/// (title, text, summary) of every record with a summary.
fn read(path: &Path) -> Result<Vec<Record>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader = BufReader::new(flate2::read::MultiGzDecoder::new(file));
    let mut out = Vec::new();
    for line in reader.lines() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let rec: serde_json::Value = serde_json::from_str(&line)?;
        let field = |k: &str| rec[k].as_str().unwrap_or_default().to_string();
        let summary = field("summary");
        if !summary.is_empty() {
            out.push((field("title"), field("text"), summary));
        }
    }
    Ok(out)
}
