//! The model file: magic, format version, header (ModelMeta), deflated
//! payload (vocabulary, idf, gazetteer, f16 weights), CRC32.
//!
//! ```text
//! "DTAGMDL\x1a" | u32 version | u32 header len | header (postcard)
//!   | u64 payload len | payload (deflate(postcard)) | u32 crc32 of all before
//! ```
//! All integers little-endian.

use std::io::{Read, Write};
use std::path::Path;

use half::f16;
use serde::{Deserialize, Serialize};

use super::calibrate::Calibration;
use super::features::{FeatureParams, TfIdf};
use super::{Head, Label, Model, ModelMeta, Weights};
use crate::geo::Gazetteer;
use crate::{Error, Result};

/// First bytes of every model file.
pub const MAGIC: &[u8; 8] = b"DTAGMDL\x1a";
/// The format this build writes and reads; files of other versions are
/// refused with a hint.
pub const FORMAT_VERSION: u32 = 12;

/// Largest model file read, in bytes (the shipped model is about 4 MB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// Largest header, in bytes.
const MAX_HEADER_BYTES: usize = 1 << 20;
/// Largest inflated payload, in bytes (the shipped model's is 7 MB): the
/// inflater stops here, so a small file cannot unpack into gigabytes.
pub const MAX_PAYLOAD_BYTES: usize = 128 << 20;
/// Most labels per head.
const MAX_LABELS: usize = 10_000;
/// Most vocabulary terms (and idf values, and weights per label).
const MAX_FEATURES: usize = 4_000_000;

/// Every stored sequence is checked against its bound from its length
/// prefix, before anything is allocated for it.
mod bounded {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{Deserialize, Deserializer, Error, SeqAccess, Visitor};

    struct AtMost<T> {
        max: usize,
        what: &'static str,
        _t: PhantomData<T>,
    }

    impl<'de, T: Deserialize<'de>> Visitor<'de> for AtMost<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "at most {} {}", self.max, self.what)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let n = seq.size_hint().unwrap_or(0);
            if n > self.max {
                return Err(A::Error::custom(format!(
                    "{n} {}; at most {} expected",
                    self.what, self.max
                )));
            }
            let mut out = Vec::with_capacity(n);
            while let Some(x) = seq.next_element()? {
                if out.len() == self.max {
                    return Err(A::Error::custom(format!(
                        "more than {} {}",
                        self.max, self.what
                    )));
                }
                out.push(x);
            }
            Ok(out)
        }
    }

    fn at_most<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
        max: usize,
        what: &'static str,
    ) -> Result<Vec<T>, D::Error> {
        d.deserialize_seq(AtMost {
            max,
            what,
            _t: PhantomData,
        })
    }

    pub(super) fn features<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        at_most(d, super::MAX_FEATURES, "features")
    }

    pub(super) fn labels<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        at_most(d, super::MAX_LABELS, "labels")
    }

    /// One row of weights per label, each at most one per feature.
    pub(super) fn weights<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<Vec<half::f16>>, D::Error> {
        struct Row(Vec<half::f16>);
        impl<'de> Deserialize<'de> for Row {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Row, D::Error> {
                features(d).map(Row)
            }
        }
        let rows: Vec<Row> = at_most(d, super::MAX_LABELS, "labels")?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}

#[derive(Serialize, Deserialize)]
struct StoredFeatures {
    params: FeatureParams,
    #[serde(deserialize_with = "bounded::features")]
    terms: Vec<String>,
    #[serde(deserialize_with = "bounded::features")]
    idf: Vec<f32>,
    #[serde(deserialize_with = "bounded::features")]
    places: Vec<String>,
    /// Per term, its lean to English or French ([`TfIdf::language_of`]).
    #[serde(deserialize_with = "bounded::features")]
    lang_odds: Vec<i8>,
}

#[derive(Serialize, Deserialize)]
struct StoredHead {
    #[serde(deserialize_with = "bounded::labels")]
    labels: Vec<Label>,
    #[serde(deserialize_with = "bounded::labels")]
    bias: Vec<f32>,
    #[serde(deserialize_with = "bounded::labels")]
    thresholds: Vec<f32>,
    /// Per label, one f16 per feature; pruned weights are exact zeros.
    #[serde(deserialize_with = "bounded::weights")]
    weights: Vec<Vec<f16>>,
    /// Logits -> calibrated probabilities.
    calibration: Option<Calibration>,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    features: StoredFeatures,
    gazetteer: Gazetteer,
    /// [`Model::pipeline_fingerprint`] when the model was trained.
    fingerprint: u64,
    topics: StoredHead,
    regions: StoredHead,
}

/// Rounds weights as the file stores them: |w| < `prune` -> 0, then f16.
/// Training applies it before tuning thresholds, so the saved model scores
/// exactly what was measured.
pub(crate) fn quantize(weights: &mut [f32], prune: f32) {
    for w in weights {
        *w = if w.abs() < prune {
            0.0
        } else {
            f16::from_f32(*w).to_f32()
        };
    }
}

fn store_head(h: &Head) -> StoredHead {
    StoredHead {
        labels: h.labels.clone(),
        bias: h.bias.clone(),
        thresholds: h.thresholds.clone(),
        weights: h
            .weights
            .rows()
            .iter()
            .map(|w| w.iter().map(|&v| f16::from_f32(v)).collect())
            .collect(),
        calibration: h.calibration.clone(),
    }
}

/// A head from its stored parts, and its f16 weights (one row per label),
/// which the caller joins with the other head's ([`Weights::joint`]).
fn load_head(
    s: StoredHead,
    n_features: usize,
    what: &str,
) -> std::result::Result<(Head, Vec<Vec<f16>>), String> {
    let n = s.labels.len();
    if s.bias.len() != n || s.thresholds.len() != n || s.weights.len() != n {
        return Err(format!(
            "{what} head: label, bias, threshold and weight counts differ"
        ));
    }
    if s.weights.iter().any(|w| w.len() != n_features) {
        return Err(format!(
            "{what} head: weights do not match the {n_features} features"
        ));
    }
    if let Some(c) = &s.calibration {
        for g in [&c.fr, &c.en, &c.und] {
            if !(g.offsets.is_empty() || g.offsets.len() == n) {
                return Err(format!(
                    "{what} head: {} calibration offsets for {n} labels",
                    g.offsets.len()
                ));
            }
            if !g
                .offsets
                .iter()
                .chain([&g.t, &g.a, &g.b])
                .all(|v| v.is_finite())
            {
                return Err(format!("{what} head: a calibration value is not finite"));
            }
        }
    }
    let head = Head {
        labels: s.labels,
        bias: s.bias,
        thresholds: s.thresholds,
        weights: Weights::default(),
        calibration: s.calibration,
    };
    Ok((head, s.weights))
}

/// Serialises a model to the file format.
pub fn encode(model: &Model) -> Result<Vec<u8>> {
    let internal = |e: &dyn std::fmt::Display| Error::Internal(format!("encoding model: {e}"));
    let mut meta = model.meta.clone();
    meta.format_version = FORMAT_VERSION;
    let header = postcard::to_stdvec(&meta).map_err(|e| internal(&e))?;
    let f = &model.features;
    let payload = Payload {
        features: StoredFeatures {
            params: f.params.clone(),
            terms: f.terms.clone(),
            idf: f.idf.clone(),
            places: f.places.clone(),
            lang_odds: f.lang_odds.clone(),
        },
        gazetteer: model.gazetteer.clone(),
        fingerprint: model.fingerprint,
        topics: store_head(&model.topics),
        regions: store_head(&model.regions),
    };
    let raw = postcard::to_stdvec(&payload).map_err(|e| internal(&e))?;
    frame(&header, &raw).map_err(|e| internal(&e))
}

/// The file around a serialised header and payload: magic, format version,
/// header, the deflated payload, CRC32 of everything before it.
fn frame(header: &[u8], raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(raw)?;
    let packed = z.finish()?;
    let mut out = Vec::with_capacity(packed.len() + header.len() + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(&(packed.len() as u64).to_le_bytes());
    out.extend_from_slice(&packed);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> std::result::Result<&'a [u8], String> {
    let end = at
        .checked_add(n)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| {
            format!(
                "truncated: {} bytes, expected more than {}",
                bytes.len(),
                *at + n
            )
        })?;
    let s = &bytes[*at..end];
    *at = end;
    Ok(s)
}

fn u32_at(bytes: &[u8], at: &mut usize) -> std::result::Result<u32, String> {
    let s = take(bytes, at, 4)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The parts of a model file's frame: header bytes, packed payload, CRC32,
/// after the magic, version, lengths and checksum are checked.
fn unframe(bytes: &[u8]) -> std::result::Result<(&[u8], &[u8], u32), String> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a dispatch-tagger model (wrong magic bytes)".into());
    }
    let mut at = MAGIC.len();
    let version = u32_at(bytes, &mut at)?;
    if version != FORMAT_VERSION {
        let hint = if version < FORMAT_VERSION {
            "retrain it with this build: dispatch-tagger train --recipe <recipe> --out <file>"
        } else {
            "use the dispatch-tagger build that wrote it"
        };
        return Err(format!(
            "format version {version}; this build reads version {FORMAT_VERSION} only ({hint})"
        ));
    }
    let header_len = u32_at(bytes, &mut at)? as usize;
    if header_len > MAX_HEADER_BYTES {
        return Err(format!(
            "corrupted: header of {header_len} bytes (at most {MAX_HEADER_BYTES})"
        ));
    }
    let header = take(bytes, &mut at, header_len)?;
    let len = take(bytes, &mut at, 8)?;
    let mut b8 = [0u8; 8];
    b8.copy_from_slice(len);
    let payload_len = usize::try_from(u64::from_le_bytes(b8))
        .map_err(|_| "corrupted: payload length out of range".to_string())?;
    let packed = take(bytes, &mut at, payload_len)?;
    let body_end = at;
    let crc = u32_at(bytes, &mut at)?;
    if at != bytes.len() {
        return Err(format!("corrupted: {} trailing bytes", bytes.len() - at));
    }
    if crc32fast::hash(&bytes[..body_end]) != crc {
        return Err("corrupted: checksum mismatch".into());
    }
    Ok((header, packed, crc))
}

/// The inflated payload, refused past [`MAX_PAYLOAD_BYTES`] (the inflater
/// stops there).
fn inflate(packed: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut raw = Vec::new();
    flate2::read::DeflateDecoder::new(packed)
        .take(MAX_PAYLOAD_BYTES as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|e| format!("corrupted payload: {e}"))?;
    if raw.len() > MAX_PAYLOAD_BYTES {
        return Err(format!(
            "corrupted payload: inflates past {} MiB",
            MAX_PAYLOAD_BYTES >> 20
        ));
    }
    Ok(raw)
}

fn decode_inner(bytes: &[u8]) -> std::result::Result<Model, String> {
    let (header, packed, crc) = unframe(bytes)?;
    let meta: ModelMeta =
        postcard::from_bytes(header).map_err(|e| format!("corrupted header: {e}"))?;
    if meta.topics.len() > MAX_LABELS || meta.regions.len() > MAX_LABELS {
        return Err(format!("corrupted header: more than {MAX_LABELS} labels"));
    }
    let raw = inflate(packed)?;
    let p: Payload = postcard::from_bytes(&raw).map_err(|e| format!("corrupted payload: {e}"))?;
    if p.features.idf.len() != p.features.terms.len() {
        return Err("corrupted payload: idf and vocabulary differ in length".into());
    }
    if !(p.features.lang_odds.is_empty() || p.features.lang_odds.len() == p.features.terms.len()) {
        return Err("corrupted payload: language leans and vocabulary differ in length".into());
    }
    let features = TfIdf::from_parts(
        p.features.params,
        p.features.terms,
        p.features.idf,
        p.features.places,
        p.features.lang_odds,
    );
    let n = features.n_features();
    let (mut topics, topic_weights) = load_head(p.topics, n, "topic")?;
    let (mut regions, region_weights) = load_head(p.regions, n, "region")?;
    [topics.weights, regions.weights] = Weights::joint([&topic_weights, &region_weights], |w| w);
    Ok(Model {
        meta,
        gazetteer: p.gazetteer,
        features,
        topics,
        regions,
        fingerprint: p.fingerprint,
        checksum: crc,
    })
}

/// Reads a model from bytes; `path` names it in errors.
pub fn decode(bytes: &[u8], path: &Path) -> Result<Model> {
    let model = decode_inner(bytes).map_err(|reason| Error::Model {
        path: path.to_path_buf(),
        reason,
    })?;
    if !model.pipeline_matches() {
        // Still usable, but its features no longer match what it learned from.
        tracing::warn!(
            model = %path.display(),
            "text cleaning or gazetteer changed since this model was trained: retrain it"
        );
    }
    Ok(model)
}

/// Writes the model next to `path` and renames it into place, so a reader
/// never sees half a file.
pub fn save(model: &Model, path: &Path) -> Result<()> {
    let bytes = encode(model)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::Prediction;
    use crate::model::calibrate::GroupCalibration;
    use crate::prepare::ModelInput;
    use crate::text::Lang;

    /// A two-term model: "alep" leans politics, "match" sport.
    pub(crate) fn tiny() -> Model {
        let features = TfIdf::from_parts(
            FeatureParams::default(),
            vec!["alep".into(), "match".into()],
            vec![1.5, 2.0],
            vec!["place:145".into()],
            vec![-40, 30],
        );
        let head = |codes: &[&str]| Head {
            labels: codes
                .iter()
                .map(|c| Label {
                    code: c.to_string(),
                    name: format!("label {c}"),
                })
                .collect(),
            weights: Weights::from_rows(&vec![vec![1.0, -2.0, 0.5]; codes.len()]),
            bias: vec![0.1; codes.len()],
            thresholds: vec![0.5; codes.len()],
            calibration: None,
        };
        let g = |t: f32| GroupCalibration {
            offsets: vec![-0.2, 0.2],
            t,
            a: 0.7,
            b: 0.4,
            n: 10,
        };
        let mut topics = head(&["medtop:11000000", "medtop:15000000"]);
        topics.weights = Weights::from_rows(&[vec![1.5, -2.0, 0.5], vec![-1.0, 2.0, 0.0]]);
        topics.calibration = Some(Calibration {
            fr: g(0.8),
            en: g(0.7),
            und: g(0.75),
        });
        Model {
            meta: ModelMeta {
                version: "t".into(),
                ..ModelMeta::default()
            },
            gazetteer: Gazetteer::default(),
            features,
            topics,
            regions: head(&["145", "142"]),
            fingerprint: 7,
            checksum: 0,
        }
    }

    fn scores(p: &Prediction) -> Vec<f32> {
        p.topics.iter().chain(&p.regions).map(|s| s.score).collect()
    }

    #[test]
    fn round_trip_keeps_predictions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.dtm");
        let m = tiny();
        m.save(&path).unwrap();
        let back = Model::load(&path).unwrap();
        assert_eq!(back.meta().version, "t");
        assert_eq!(back.meta().format_version, FORMAT_VERSION);
        let input = ModelInput {
            lang: Lang::Fr,
            title: "Alep",
            body: "alep alep",
            places: &[],
        };
        assert_eq!(
            scores(&m.predict(&input, 2)),
            scores(&back.predict(&input, 2))
        );
        // The calibration came back and is applied: the topic scores are
        // no longer the plain sigmoids of the logits.
        assert_eq!(back.topics.calibration, m.topics.calibration);
        let mut plain = back.clone();
        plain.topics.calibration = None;
        let (c, p) = (back.predict(&input, 0), plain.predict(&input, 0));
        let gap = c
            .topics
            .iter()
            .zip(&p.topics)
            .map(|(c, p)| (c.score - p.score).abs())
            .fold(0.0, f32::max);
        assert!(gap > 1e-3, "{c:?} {p:?}");
        assert_eq!(c.topics[0].code, p.topics[0].code);
        assert_eq!(encode(&m).unwrap(), encode(&back).unwrap());
    }

    fn reason(bytes: &[u8]) -> String {
        match decode(bytes, Path::new("m.dtm")) {
            Err(Error::Model { reason, .. }) => reason,
            other => panic!("expected a model error, got {other:?}"),
        }
    }

    #[test]
    fn truncated_files_are_refused() {
        let bytes = encode(&tiny()).unwrap();
        for cut in [0, 5, 12, 20, bytes.len() / 2, bytes.len() - 1] {
            let r = reason(&bytes[..cut]);
            assert!(r.contains("truncated") || r.contains("magic"), "{cut}: {r}");
            assert!(!r.contains('\n'));
        }
    }

    #[test]
    fn a_flipped_byte_is_refused() {
        let mut bytes = encode(&tiny()).unwrap();
        let i = bytes.len() - 10;
        bytes[i] ^= 0x40;
        assert!(reason(&bytes).contains("checksum"));
    }

    /// A frame around `raw` as the payload, with a right checksum.
    fn framed(raw: &[u8]) -> Vec<u8> {
        let header = postcard::to_stdvec(&ModelMeta::default()).unwrap();
        frame(&header, raw).unwrap()
    }

    #[test]
    fn a_decompression_bomb_is_refused_at_the_payload_bound() {
        // 200 MiB of zeros packs into a few hundred KB.
        let bomb = framed(&vec![0u8; 200 << 20]);
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        let r = reason(&bomb);
        assert!(r.contains("inflates past 128 MiB"), "{r}");
    }

    #[test]
    fn a_length_prefix_past_its_bound_is_refused_before_allocating() {
        // FeatureParams, then one term more than allowed, each empty (one
        // byte in the file, a 24-byte String in memory).
        let mut raw = postcard::to_stdvec(&FeatureParams::default()).unwrap();
        let n = MAX_FEATURES + 1;
        raw.extend_from_slice(&postcard::to_stdvec(&(n as u64)).unwrap());
        raw.resize(raw.len() + n, 0);
        let r = reason(&framed(&raw));
        // postcard reports the bound's error without its text; without the
        // bound the terms decode and the file ends early instead.
        assert!(r.starts_with("corrupted payload"), "{r}");
        assert!(!r.contains("end of buffer"), "{r}");
    }

    #[test]
    fn wrong_magic_and_version_are_refused() {
        let mut bytes = encode(&tiny()).unwrap();
        bytes[0] = b'X';
        assert!(reason(&bytes).contains("magic"));
        let mut bytes = encode(&tiny()).unwrap();
        bytes[8] = 13;
        assert!(reason(&bytes).contains("format version 13"));
        for old in [1, 11] {
            let mut bytes = encode(&tiny()).unwrap();
            bytes[8] = old;
            let r = reason(&bytes);
            assert!(
                r.contains(&format!("format version {old};")) && r.contains("retrain"),
                "{r}"
            );
        }
        assert!(reason(b"hello").contains("magic"));
    }

    /// A model whose words' language leans do not match its vocabulary:
    /// refused with the reason.
    #[test]
    fn language_leans_of_another_length_are_refused() {
        let mut m = tiny();
        m.features.lang_odds = vec![1, 2, 3];
        let r = reason(&encode(&m).unwrap());
        assert!(r.contains("language leans and vocabulary differ"), "{r}");
    }

    /// A model whose topic calibration does not fit its labels, with the
    /// file's checksum right: refused with the reason, not served.
    #[test]
    fn calibration_offsets_of_another_label_count_are_refused() {
        let mut m = tiny();
        if let Some(c) = &mut m.topics.calibration {
            c.en.offsets = vec![0.5; 3];
        }
        let r = reason(&encode(&m).unwrap());
        assert!(r.contains("3 calibration offsets for 2 labels"), "{r}");
        let mut m = tiny();
        if let Some(c) = &mut m.topics.calibration {
            c.fr.offsets = vec![f32::NAN, 0.0];
        }
        let r = reason(&encode(&m).unwrap());
        assert!(r.contains("not finite"), "{r}");
    }
}
