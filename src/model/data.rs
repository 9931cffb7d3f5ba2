//! Shared-corpus records (JSON Lines, gzip or plain) and the Reuters dev carve.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Deserialize;

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
    /// Reference summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Free-form provenance.
    #[serde(default)]
    pub meta: serde_json::Value,
    /// Which label fields are gold for this record.
    #[serde(default)]
    pub labelled: Vec<String>,
    /// Made in training from another record's title and lead, not read.
    #[serde(skip)]
    pub brief: bool,
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
        let rec: Record = serde_json::from_str(&line)
            .map_err(|e| Error::data(path, format!("line {}: {e}", i + 1)))?;
        out.push(rec);
    }
    Ok(out)
}

/// FNV-1a 64 over `bytes`, continuing from `h`; stable across platforms and
/// runs, unlike `std`'s randomly keyed hasher.
pub(crate) fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// FNV-1a 64 offset basis.
pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// A deterministic holdout carved from a training file (Reuters has no dev
/// split). A record is held out when `fnv1a64("<seed>:<id>") % 1_000_000`
/// is below `fraction * 1_000_000`; bench/peer_sklearn.py uses the same rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub struct Carve {
    /// Split name of the file carved ("reuters-en-train").
    pub file: String,
    /// Name given to the holdout ("reuters-en-dev").
    pub dev_name: String,
    /// Share held out, in (0, 1).
    pub fraction: f64,
    /// Seed mixed into the hash.
    pub seed: u64,
}

impl Carve {
    /// Whether the record with this id is in the holdout.
    pub fn held_out(&self, id: &str) -> bool {
        let h = fnv1a(FNV_OFFSET, format!("{}:{id}", self.seed).as_bytes());
        ((h % 1_000_000) as f64) < self.fraction * 1_000_000.0
    }
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
    fn carve_is_stable_and_near_its_fraction() {
        let carve = Carve {
            file: "r".into(),
            dev_name: "d".into(),
            fraction: 0.1,
            seed: 7,
        };
        let n = (0..10_000)
            .filter(|i| carve.held_out(&format!("reuters:{i}")))
            .count();
        assert!((800..1200).contains(&n), "{n}");
        assert_eq!(carve.held_out("reuters:1"), carve.held_out("reuters:1"));
        assert_eq!(
            split_name(Path::new("/a/bbc-en-dev.jsonl.gz")),
            "bbc-en-dev"
        );
    }
}
