//! The model-file loader on arbitrary bytes: a clear error or a model that
//! classifies without panicking. With the first byte odd, the last four bytes
//! are replaced by the right CRC32 so mutations reach the header and payload
//! decoders instead of stopping at the checksum.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use dispatch_tagger::model::file;
use dispatch_tagger::tagger::{ClassifyOptions, Tagger};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = rest.to_vec();
    if mode & 1 == 1 && bytes.len() >= 4 {
        let body = bytes.len() - 4;
        let crc = crc32fast::hash(&bytes[..body]);
        bytes[body..].copy_from_slice(&crc.to_le_bytes());
    }
    if let Ok(model) = file::decode(&bytes, Path::new("fuzz.dtm")) {
        let tagger = Tagger::new(Arc::new(model));
        let text = "Les présidents iranien et russe ont salué la victoire à Alep, en Syrie.";
        let options = ClassifyOptions {
            language: None,
            max_topics: 5,
            max_regions: 5,
            min_score: None,
            explain: true,
            home_country: None,
            candidate_topics: Vec::new(),
        };
        let _ = tagger.classify("", text, &options);
    }
});
