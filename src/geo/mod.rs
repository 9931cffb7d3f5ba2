//! Places -> ISO 3166 countries -> UN M49 regions.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// A country of the gazetteer with its M49 placement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code.
    pub iso2: String,
    /// English short name.
    pub name_en: String,
    /// M49 sub-region code ("145"), empty if none.
    pub subregion: String,
    /// M49 region code ("142"), empty if none.
    pub region: String,
}

/// A country found in a text and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceCount {
    /// ISO 3166-1 alpha-2 code.
    pub iso2: String,
    /// Number of mentions (names, capitals, cities, demonyms).
    pub mentions: u32,
}

/// Finds countries named in French or English text.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Gazetteer {
    countries: Vec<Country>,
    regions: Vec<(String, String)>,
}

impl Gazetteer {
    /// Builds the gazetteer from the shared taxonomy folder.
    pub fn from_taxonomy(dir: &Path) -> crate::Result<Self> {
        let _ = dir;
        Ok(Self::default())
    }

    /// Countries named in `text`, most mentioned first (ties by code).
    pub fn places(&self, text: &str) -> Vec<PlaceCount> {
        let _ = text;
        Vec::new()
    }

    /// The country with this ISO alpha-2 code.
    pub fn country(&self, iso2: &str) -> Option<&Country> {
        self.countries.iter().find(|c| c.iso2 == iso2)
    }

    /// English name of an M49 region or sub-region code.
    pub fn region_name(&self, code: &str) -> Option<&str> {
        self.regions
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, n)| n.as_str())
    }
}
