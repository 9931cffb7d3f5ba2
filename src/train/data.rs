//! Shared-corpus records (JSON Lines, gzip or plain), a recipe's splits
//! and the taxonomies' label names.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Deserialize;

use super::recipe::Recipe;
use crate::text::Lang;
use crate::{Error, Result};

/// One record of the shared data package (see the datasheet).
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    /// `<corpus>:<original id>`.
    pub id: String,
    /// "fr" or "en".
    pub lang: String,
    /// Corpus name ("bbc", "orangesum", ...).
    pub source: String,
    /// Headline, may be empty.
    #[serde(default)]
    pub title: String,
    /// Body text.
    pub text: String,
    /// IPTC top-level qcodes.
    #[serde(default)]
    pub topics: Vec<String>,
    /// ISO alpha-2 codes.
    #[serde(default)]
    pub countries: Vec<String>,
    /// M49 sub-region and region codes.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Which label fields are gold for this record.
    #[serde(default)]
    pub labelled: Vec<String>,
    /// Made in training from another record's title and lead, not read.
    #[serde(skip)]
    pub brief: bool,
    /// Topics a keyword rule added in training, not read.
    #[serde(skip)]
    pub silver: Vec<String>,
}

impl Record {
    /// Whether `field` ("topics" or "regions") is gold for this record.
    pub fn is_labelled(&self, field: &str) -> bool {
        self.labelled.iter().any(|f| f == field)
    }

    /// The gold labels of `field`.
    pub fn labels(&self, field: &str) -> &[String] {
        match field {
            "topics" => &self.topics,
            "regions" => &self.regions,
            "countries" => &self.countries,
            _ => &[],
        }
    }

    /// The record's language as a hint for preparation.
    pub fn lang_hint(&self) -> Option<Lang> {
        Lang::from_hint(&self.lang).ok().flatten()
    }
}

/// The split name of a corpus file: its name without `.jsonl[.gz]`.
pub fn split_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.trim_end_matches(".gz")
        .trim_end_matches(".jsonl")
        .to_string()
}

/// Reads every record of a `.jsonl.gz` or plain `.jsonl` file; errors name
/// the file and the line.
pub fn read_records(path: &Path) -> Result<Vec<Record>> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut magic = [0u8; 2];
    let got = file.read(&mut magic).map_err(|e| Error::io(path, e))?;
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader: Box<dyn BufRead> = if got == 2 && magic == [0x1f, 0x8b] {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| Error::data(path, format!("line {}: {e}", i + 1)))?;
        if line.trim().is_empty() {
            continue;
        }
        let rec: Record = serde_json::from_str(&line).map_err(|e| {
            let reason = crate::error::json_unquoted(&e);
            Error::data(path, format!("line {}: {reason}", i + 1))
        })?;
        out.push(rec);
    }
    Ok(out)
}

/// Reads a split; the holdout's file loses its holdout, the holdout's name
/// reads only it.
pub(crate) fn read_split(recipe: &Recipe, data: &Path, split: &str) -> Result<Vec<Record>> {
    if let Some(lang) = vocabulary_lang(split) {
        return vocabulary_records(&data.join(VOCABULARY_FILE), lang);
    }
    let path = recipe.split_path(data, split);
    let records = read_records(&path)?;
    let carve = &recipe.holdout;
    Ok(if split == carve.dev_name {
        records
            .into_iter()
            .filter(|r| carve.held_out(&r.id))
            .collect()
    } else if split == carve.file {
        records
            .into_iter()
            .filter(|r| !carve.held_out(&r.id))
            .collect()
    } else {
        records
    })
}

/// The `source` of records made from the IPTC vocabulary.
pub(crate) const VOCABULARY_SOURCE: &str = "iptc";

/// The IPTC Media Topics table with every concept, its parent, names and
/// definitions.
const VOCABULARY_FILE: &str = "taxonomy/iptc_mediatopic_all.tsv";

/// The language of a vocabulary split ("iptc-fr-vocabulary"), which is read
/// from the taxonomy rather than a corpus file.
pub(crate) fn vocabulary_lang(split: &str) -> Option<&'static str> {
    match split {
        "iptc-fr-vocabulary" => Some("fr"),
        "iptc-en-vocabulary" => Some("en"),
        _ => None,
    }
}

/// The topic vocabulary as training records: one record per IPTC concept
/// under a top-level topic, labelled with that topic. In English its name
/// and definition ("unemployment. Having no work but being able to work"),
/// in French its name ("Chômage"; the table has no French definitions).
/// It is what teaches a topic that no corpus labels (labour, and in French
/// religion and society) its words.
pub(crate) fn vocabulary_records(path: &Path, lang: &str) -> Result<Vec<Record>> {
    let records = concepts(path)?
        .into_iter()
        .filter_map(|c| {
            let text = match lang {
                "en" => format!("{}. {}", c.name_en, c.definition_en),
                _ => c.name_fr,
            };
            (!text.trim().is_empty()).then(|| Record {
                id: format!("iptc:{}-{lang}", c.code),
                lang: lang.to_string(),
                source: VOCABULARY_SOURCE.to_string(),
                title: String::new(),
                text,
                topics: vec![c.topic],
                countries: Vec::new(),
                regions: Vec::new(),
                labelled: vec!["topics".to_string()],
                brief: false,
                silver: Vec::new(),
            })
        })
        .collect();
    Ok(records)
}

/// One IPTC concept under a top-level topic.
struct Concept {
    code: String,
    /// Its top-level topic (itself for a top-level concept).
    topic: String,
    name_en: String,
    name_fr: String,
    definition_en: String,
}

/// Every concept of the IPTC table that sits under a top-level topic.
fn concepts(path: &Path) -> Result<Vec<Concept>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .filter(|c: &Vec<&str>| c.len() >= 6)
        .collect();
    let parent: BTreeMap<&str, &str> = rows
        .iter()
        .map(|c| (c[0], c[1].split(';').next().unwrap_or("")))
        .collect();
    let top_level: BTreeSet<&str> = rows.iter().filter(|c| c[2] == "1").map(|c| c[0]).collect();
    let top = |code: &str| -> String {
        let mut q = code;
        for _ in 0..8 {
            match parent.get(q) {
                Some(p) if !p.is_empty() && *p != q => q = p,
                _ => break,
            }
        }
        q.to_string()
    };
    Ok(rows
        .iter()
        .map(|c| Concept {
            code: c[0].to_string(),
            topic: top(c[0]),
            name_en: c[3].to_string(),
            name_fr: c[4].to_string(),
            definition_en: c[5].to_string(),
        })
        .filter(|c| top_level.contains(c.topic.as_str()))
        .collect())
}

/// Lowercased words of four letters or more, split at anything that is not
/// a letter.
pub(crate) fn keyword_tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 4)
        .map(str::to_lowercase)
}

/// Code -> English name from a taxonomy TSV (code in column 0, name in 1).
pub(crate) fn taxonomy_names(path: &Path) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split('\t');
            Some((cols.next()?.to_string(), cols.next()?.to_string()))
        })
        .collect())
}

/// Every dev split of the recipe's heads, each read once, in recipe order.
pub(crate) fn read_dev(recipe: &Recipe, data: &Path) -> Result<Vec<(String, Vec<Record>)>> {
    let mut out: Vec<(String, Vec<Record>)> = Vec::new();
    for s in recipe.topics.dev.iter().chain(&recipe.regions.dev) {
        if !out.iter().any(|(d, _)| d == s) {
            out.push((s.clone(), read_split(recipe, data, s)?));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn bad_json_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.jsonl");
        let mut f = File::create(&path).unwrap();
        writeln!(
            f,
            r#"{{"id":"a:1","lang":"en","source":"a","title":"","text":"t","topics":[],"countries":[],"regions":[],"meta":{{}},"labelled":[]}}"#
        )
        .unwrap();
        writeln!(f, "{{not json").unwrap();
        let err = read_records(&path).unwrap_err().to_string();
        assert!(err.contains("x.jsonl") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn a_split_is_named_after_its_file() {
        assert_eq!(
            split_name(Path::new("/a/bbc-en-dev.jsonl.gz")),
            "bbc-en-dev"
        );
    }
}
