//! Places -> ISO 3166 countries -> UN M49 regions.

mod curated;
mod forms;
mod index;
mod scan;
mod taxonomy;

use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use forms::{Forms, Source};
use index::{Case, Entry, Index};

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
///
/// [`Gazetteer::from_taxonomy`] reads the shared taxonomy (names, aliases,
/// capitals, demonyms, M49 placement) and the hand-curated `cities.tsv`
/// (French capitals, major cities, inflected demonyms, blocked homonyms),
/// settles which country each written form names, and indexes the forms by
/// word sequence; [`Gazetteer::places`] counts the longest name found at
/// each word of a text.
///
/// Serialised as its tables (countries, regions, name entries); the word
/// index is rebuilt on deserialisation, so a stored gazetteer is compact
/// and its bytes do not depend on hash order.
#[derive(Debug, Clone, Default)]
pub struct Gazetteer {
    /// Sorted by ISO code; entries refer to countries by position.
    countries: Vec<Country>,
    /// (code, English name) of every M49 region level, sorted by code.
    regions: Vec<(String, String)>,
    index: Index,
}

impl Gazetteer {
    /// Builds the gazetteer from the shared taxonomy folder
    /// (`countries.tsv`, `country_aliases.tsv`, `m49_regions.tsv`) and the
    /// embedded curated table.
    #[tracing::instrument(skip_all, fields(dir = %dir.display()))]
    pub fn from_taxonomy(dir: &Path) -> crate::Result<Self> {
        let tax = taxonomy::read(dir)?;
        let curated = curated::lines()?;
        let mut forms = Forms::default();
        for (id, c) in (0u16..).zip(&tax.countries) {
            let id = Some(id);
            for name in [&c.name_en, &c.name_fr].into_iter().chain(&c.capitals) {
                forms.add(name, id, Case::Capital, Source::Name);
            }
            for d in c.demonyms_fr.iter().flat_map(|d| demonym_parts(d)) {
                forms.add(d, id, Case::Any, Source::Demonym);
                if let Some(p) = forms::plural_fr(d) {
                    forms.add(&p, id, Case::Any, Source::Demonym);
                }
            }
            for d in c.demonyms_en.iter().flat_map(|d| demonym_parts(d)) {
                forms.add(d, id, Case::Capital, Source::Demonym);
                if let Some(p) = forms::plural_en(d) {
                    forms.add(&p, id, Case::Capital, Source::Demonym);
                }
            }
        }
        let position = |iso2: &str| {
            tax.countries
                .binary_search_by(|c| c.iso2.as_str().cmp(iso2))
                .ok()
                .and_then(|i| u16::try_from(i).ok())
        };
        for a in &tax.aliases {
            let case = if is_acronym(&a.alias) {
                Case::Upper
            } else {
                Case::Capital
            };
            forms.add(&a.alias, position(&a.iso2), case, Source::Name);
        }
        for line in &curated {
            let id = match &line.iso2 {
                None => None,
                Some(iso2) => Some(position(iso2).ok_or_else(|| {
                    crate::Error::data(curated::PATH, format!("unknown country {iso2}"))
                })?),
            };
            let case = match line.kind {
                curated::Kind::Name | curated::Kind::State => Case::Capital,
                curated::Kind::Adj | curated::Kind::Block => Case::Any,
                curated::Kind::Acronym => Case::Upper,
                curated::Kind::Abbrev => Case::Abbrev,
            };
            // US state abbreviations ("Tex.") are states too.
            let state = matches!(line.kind, curated::Kind::State | curated::Kind::Abbrev);
            let claim = forms::Claim {
                country: id,
                case,
                source: Source::Curated,
                state,
            };
            for form in &line.forms {
                forms.add_claim(form, claim);
                if line.kind == curated::Kind::Adj
                    && let Some(p) = forms::plural_fr(form)
                {
                    forms.add_claim(&p, claim);
                }
            }
        }
        if !forms.conflicts().is_empty() {
            tracing::debug!(forms = ?forms.conflicts(), "names claimed by two countries are ignored");
        }
        let countries = tax
            .countries
            .into_iter()
            .map(|c| Country {
                iso2: c.iso2,
                name_en: c.name_en,
                subregion: c.subregion,
                region: c.region,
            })
            .collect();
        Ok(Self {
            countries,
            regions: tax.regions,
            index: Index::new(forms.into_entries()),
        })
    }

    /// Countries named in `text`, most mentioned first (ties: the one named
    /// first).
    ///
    /// Counts names, aliases, capitals, major cities and demonyms; at each
    /// word the longest known name wins, so "Guinée équatoriale" is not also
    /// "Guinée" and "New Jersey" is not Jersey. A place named just before a
    /// comma and a state or province ("Paris, Texas", "Moscow, Idaho") counts
    /// for the state's country.
    pub fn places(&self, text: &str) -> Vec<PlaceCount> {
        let words = scan::words(text);
        let mut counts = vec![0u32; self.countries.len()];
        let mut first = vec![usize::MAX; self.countries.len()];
        let mut at = 0;
        while at < words.len() {
            match self.index.longest(&words, at) {
                Some(m) => {
                    let next = at + m.len.max(1);
                    let country = m
                        .country
                        .map(|c| self.state_after(&words, next).unwrap_or(c));
                    if let Some(c) = country.map(usize::from)
                        && let (Some(slot), Some(seen)) = (counts.get_mut(c), first.get_mut(c))
                    {
                        *slot = slot.saturating_add(1);
                        *seen = (*seen).min(at);
                    }
                    at = next;
                }
                None => at += 1,
            }
        }
        let mut found: Vec<(usize, PlaceCount)> = counts
            .iter()
            .zip(&first)
            .zip(&self.countries)
            .filter(|&((&n, _), _)| n > 0)
            .map(|((&mentions, &at), c)| {
                (
                    at,
                    PlaceCount {
                        iso2: c.iso2.clone(),
                        mentions,
                    },
                )
            })
            .collect();
        found.sort_by_key(|(at, p)| (std::cmp::Reverse(p.mentions), *at));
        found.into_iter().map(|(_, p)| p).collect()
    }

    /// The country of a state or province named right after the place that
    /// ends before word `next`, after a comma (and "en", "au" or "dans le":
    /// "Saint-Pétersbourg, en Floride", "Mexico, dans le Missouri"), unless
    /// the state is one of a list ("Mexico, California and Texas", "Mexico,
    /// Texas, Cuba", "Israel, Texas, and Ohio": then each place is itself)
    /// or the subject of a possessive ("Mexico, Texas's largest partner").
    fn state_after(&self, words: &scan::Words, next: usize) -> Option<u16> {
        if !words.get(next.checked_sub(1)?)?.comma_after {
            return None;
        }
        let mut at = next;
        match words.key(at) {
            "en" | "au" | "aux" => at += 1,
            "dans" => {
                at += 1;
                at += usize::from(matches!(words.key(at), "le" | "la" | "l" | "les"));
            }
            _ => {}
        }
        let state = self.index.longest(words, at).filter(|m| m.state)?;
        let after = at + state.len;
        // After the state: a comma and a place, or "and", make a list
        // ("Mexico, Texas, Cuba", "Israel, Texas, and Ohio"); a possessive
        // makes the state the subject ("Mexico, Texas's largest partner").
        let listed = match words.key(after) {
            "and" | "et" | "or" | "ou" | "s" => true,
            _ => {
                words.get(after - 1).is_some_and(|w| w.comma_after)
                    && self
                        .index
                        .longest(words, after)
                        .is_some_and(|m| m.country.is_some())
            }
        };
        if listed { None } else { state.country }
    }

    /// The country with this ISO alpha-2 code.
    pub fn country(&self, iso2: &str) -> Option<&Country> {
        self.countries
            .binary_search_by(|c| c.iso2.as_str().cmp(iso2))
            .ok()
            .and_then(|i| self.countries.get(i))
    }

    /// All countries, sorted by ISO code.
    pub fn countries(&self) -> &[Country] {
        &self.countries
    }

    /// English name of an M49 region, sub-region or intermediate region code.
    pub fn region_name(&self, code: &str) -> Option<&str> {
        self.regions
            .binary_search_by(|(c, _)| c.as_str().cmp(code))
            .ok()
            .and_then(|i| self.regions.get(i))
            .map(|(_, n)| n.as_str())
    }

    /// M49 (sub-region, region) codes of a country, as the corpora label
    /// them; either may be empty (Antarctica has none).
    pub fn regions_of(&self, iso2: &str) -> Option<(&str, &str)> {
        self.country(iso2)
            .map(|c| (c.subregion.as_str(), c.region.as_str()))
    }
}

/// The single demonyms of a taxonomy cell item: "Antiguan, Barbudan" and
/// "Kittitian or Nevisian" hold two; French compounds joined by " et " are
/// not how the press writes them.
fn demonym_parts(item: &str) -> impl Iterator<Item = &str> {
    item.split(',')
        .flat_map(|p| p.split(" or "))
        .map(str::trim)
        .filter(|p| !p.is_empty() && !p.contains(" et "))
}

/// "UAE", "US", "U.S.A.": upper-case ASCII letters with optional dots.
fn is_acronym(alias: &str) -> bool {
    let letters = alias.bytes().filter(|b| *b != b'.').count();
    (2..=5).contains(&letters) && alias.bytes().all(|b| b.is_ascii_uppercase() || b == b'.')
}

/// The stored form of a [`Gazetteer`].
#[derive(Serialize)]
struct TablesRef<'a> {
    countries: &'a [Country],
    regions: &'a [(String, String)],
    entries: &'a [Entry],
}

#[derive(Deserialize)]
struct Tables {
    countries: Vec<Country>,
    regions: Vec<(String, String)>,
    entries: Vec<Entry>,
}

impl Serialize for Gazetteer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        TablesRef {
            countries: &self.countries,
            regions: &self.regions,
            entries: self.index.entries(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Gazetteer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Tables {
            countries,
            mut regions,
            entries,
        } = Tables::deserialize(deserializer)?;
        // A model file is input: check what `places` and `country` rely on.
        if !countries.windows(2).all(|w| w[0].iso2 < w[1].iso2) {
            return Err(serde::de::Error::custom(
                "gazetteer countries are not sorted by code",
            ));
        }
        let valid = |e: &Entry| {
            usize::from(e.head) < e.words.len()
                && e.country.is_none_or(|c| usize::from(c) < countries.len())
        };
        if !entries.iter().all(valid) {
            return Err(serde::de::Error::custom("gazetteer entry out of range"));
        }
        regions.sort();
        Ok(Self {
            countries,
            regions,
            index: Index::new(entries),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

    /// A slice of the shared taxonomy: the countries these tests name and
    /// those `cities.tsv` refers to (see tests/data/README.md).
    const TAXONOMY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/taxonomy");

    /// The French example dispatch (AFP via a scraped page).
    const ALEPPO_FR: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/aleppo-fr.txt"
    ));

    fn gazetteer() -> &'static Gazetteer {
        static G: OnceLock<Gazetteer> = OnceLock::new();
        G.get_or_init(|| Gazetteer::from_taxonomy(Path::new(TAXONOMY)).expect("taxonomy"))
    }

    fn codes(text: &str) -> Vec<String> {
        let mut c: Vec<_> = gazetteer()
            .places(text)
            .into_iter()
            .map(|p| p.iso2)
            .collect();
        c.sort();
        c
    }

    fn mentions(places: &[PlaceCount], iso2: &str) -> u32 {
        places
            .iter()
            .find(|p| p.iso2 == iso2)
            .map_or(0, |p| p.mentions)
    }

    #[test]
    fn aleppo_dispatch_is_mostly_about_syria() {
        let places = gazetteer().places(ALEPPO_FR);
        assert_eq!(places.first().map(|p| p.iso2.as_str()), Some("SY"));
        // Alep x3, Syrie x4, syrienne(s) x5, syrien(s) x3, Damas.
        assert_eq!(mentions(&places, "SY"), 16);
        // russe x3, Moscou x3, Russie x3.
        assert_eq!(mentions(&places, "RU"), 9);
        // iranien(ne) x3, Téhéran x2, Iran x2.
        assert_eq!(mentions(&places, "IR"), 7);
        // Kazakhstan x2, Astana.
        assert_eq!(mentions(&places, "KZ"), 3);
        assert_eq!(codes(ALEPPO_FR), ["IR", "KZ", "RU", "SY"]);
    }

    #[test]
    fn reuters_style_english() {
        let text =
            "Brazil's coffee exports to the U.S. and West Germany rose, Brasilia officials said";
        assert_eq!(codes(text), ["BR", "DE", "US"]);
        let places = gazetteer().places(text);
        assert_eq!(mentions(&places, "BR"), 2);
    }

    #[test]
    fn hyphenated_and_multiword_french_names() {
        assert_eq!(codes("Le Royaume-Uni et la Corée du Sud"), ["GB", "KR"]);
        assert_eq!(codes("la Guinée équatoriale"), ["GQ"]);
        assert_eq!(codes("la Guinée-Bissau et la Guinée"), ["GN", "GW"]);
        assert_eq!(codes("le Soudan du Sud"), ["SS"]);
        assert_eq!(codes("Belfast, en Irlande du Nord"), ["GB"]);
        assert_eq!(codes("l'Arabie saoudite et les Etats-Unis"), ["SA", "US"]);
        assert_eq!(codes("d'Alep, de l'Inde"), ["IN", "SY"]);
    }

    /// French domestic copy names départements, regions and towns, not
    /// France; names that are also common words, first names or places
    /// shared with a neighbour stay out.
    #[test]
    fn french_departements_regions_and_towns_are_france() {
        let text = "Les pompiers de l'Hérault et du Gard ont maîtrisé un feu près de Sète; \
                    en Seine-Saint-Denis et dans les Hauts-de-France, la vigilance reste orange.";
        let places = gazetteer().places(text);
        assert_eq!(codes(text), ["FR"]);
        assert_eq!(mentions(&places, "FR"), 5);
        assert_eq!(
            codes("Un homme interpellé à Aix-en-Provence, dans les Bouches-du-Rhône"),
            ["FR"]
        );
        assert!(
            codes("Nancy tours the Ardennes; a trade row angers Lorraine's farmers").is_empty()
        );
        assert!(codes("ANGERS TOURS VAR JURA NORD").is_empty());
    }

    #[test]
    fn congo_is_the_republic_unless_democratic() {
        assert_eq!(codes("au Congo"), ["CG"]);
        assert_eq!(codes("en RDC"), ["CD"]);
        assert_eq!(codes("en RD Congo"), ["CD"]);
        assert_eq!(codes("la République démocratique du Congo"), ["CD"]);
        assert_eq!(codes("à Kinshasa"), ["CD"]);
        assert_eq!(codes("the Democratic Republic of the Congo"), ["CD"]);
    }

    #[test]
    fn common_words_are_not_places() {
        assert!(codes("The man said us and them").is_empty());
        assert!(codes("il a niger").is_empty());
        assert!(codes("a guinea pig, roast turkey, une inde, in china cups").is_empty());
        assert!(codes("TELL US ABOUT IT").is_empty());
        assert!(codes("Maurice et Dominique en Réunion à Victoria, Georgia").is_empty());
    }

    #[test]
    fn acronyms_need_exact_capitals() {
        assert_eq!(codes("the US and UK and UAE"), ["AE", "GB", "US"]);
        assert!(codes("the us and uk and uae").is_empty());
        assert_eq!(codes("U.S. TO RAISE TARIFFS"), ["US"]);
    }

    #[test]
    fn longer_names_shadow_the_shorter_inside() {
        assert_eq!(codes("New Jersey and New Mexico"), ["US"]);
        assert_eq!(codes("Papua New Guinea"), ["PG"]);
        assert_eq!(codes("the Indian Ocean"), Vec::<String>::new());
        assert_eq!(codes("Latin American debt"), Vec::<String>::new());
        assert_eq!(codes("la dette latino-américaine"), Vec::<String>::new());
        assert_eq!(
            codes("the Uruguay Round of trade talks"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn demonyms_in_both_languages() {
        assert_eq!(codes("les ministres français et allemands"), ["DE", "FR"]);
        assert_eq!(codes("Japanese and Chinese officials"), ["CN", "JP"]);
        assert_eq!(codes("les sud-coréens et les Nord-Coréennes"), ["KP", "KR"]);
        assert_eq!(codes("Iraqis and Americans"), ["IQ", "US"]);
        // Shared with overseas territories in the taxonomy; the curated
        // table gives them to the country the press means.
        assert_eq!(codes("French and Dutch banks"), ["FR", "NL"]);
        assert_eq!(codes("les touristes américaines"), ["US"]);
    }

    #[test]
    fn order_is_mentions_then_first_named() {
        let places = gazetteer().places("Peru, Chile, Chile, Bolivia, Peru, Argentina");
        let order: Vec<_> = places
            .iter()
            .map(|p| (p.iso2.as_str(), p.mentions))
            .collect();
        assert_eq!(order, [("PE", 2), ("CL", 2), ("BO", 1), ("AR", 1)]);
    }

    #[test]
    fn a_town_named_before_its_state_is_in_the_states_country() {
        assert_eq!(codes("A tornado hit Paris, Texas, on Sunday."), ["US"]);
        assert_eq!(
            codes("Police in Moscow, Idaho, said a man from Mexico, Missouri"),
            ["US"]
        );
        assert_eq!(
            codes("LEBANON, Pa. (AP) — A fire in Lebanon, Pa., killed two"),
            ["US"]
        );
        assert_eq!(
            codes("Un homme de London, en Ontario, a vu Saint-Pétersbourg, en Floride"),
            ["CA", "US"]
        );
        // A list of places is not a town and its state.
        assert_eq!(
            codes("Rains hit Mexico, California and Arizona."),
            ["MX", "US"]
        );
        assert_eq!(codes("Storms in Mexico, Texas, Cuba."), ["CU", "MX", "US"]);
        assert_eq!(
            codes("Fashion weeks in Milan, Paris, New York and London"),
            ["FR", "GB", "IT", "US"]
        );
    }

    #[test]
    fn rivers_dishes_venues_and_people_named_after_countries_are_not_them() {
        assert!(codes("The Niger River flooded; le fleuve Niger et le fleuve Congo.").is_empty());
        assert_eq!(
            codes("Des pluies dans l'État du Niger, dans le delta du Niger"),
            ["NG"]
        );
        assert!(codes("Brussels sprouts, a German shepherd, des choux de Bruxelles").is_empty());
        assert_eq!(codes("A storm in the Gulf of Mexico hit Texas"), ["US"]);
        assert!(codes("Jordan Bardella a parlé ; Arsenal won at the Emirates Stadium.").is_empty());
    }

    #[test]
    fn region_names_and_placement() {
        let g = gazetteer();
        assert_eq!(g.region_name("145"), Some("Western Asia"));
        assert_eq!(g.region_name("142"), Some("Asia"));
        assert_eq!(g.region_name("029"), Some("Caribbean"));
        assert_eq!(g.region_name("999"), None);
        assert_eq!(g.regions_of("SY"), Some(("145", "142")));
        assert_eq!(g.country("FR").map(|c| c.name_en.as_str()), Some("France"));
        assert_eq!(g.country("XX"), None);
    }

    #[test]
    fn survives_a_postcard_round_trip() {
        let g = gazetteer();
        let bytes = postcard::to_stdvec(g).expect("serialise");
        let back: Gazetteer = postcard::from_bytes(&bytes).expect("deserialise");
        assert_eq!(back.places(ALEPPO_FR), g.places(ALEPPO_FR));
        assert_eq!(back.region_name("145"), Some("Western Asia"));
        assert_eq!(postcard::to_stdvec(&back).ok(), Some(bytes));
    }

    #[test]
    fn corrupt_stored_entries_are_rejected() {
        let bad = TablesRef {
            countries: &[],
            regions: &[],
            entries: &[Entry {
                words: vec!["x".into()],
                country: Some(3),
                case: Case::Any,
                head: 0,
                state: false,
            }],
        };
        let bytes = postcard::to_stdvec(&bad).expect("serialise");
        assert!(postcard::from_bytes::<Gazetteer>(&bytes).is_err());
    }

    #[test]
    fn empty_gazetteer_and_odd_text_do_not_panic() {
        assert!(Gazetteer::default().places("France").is_empty());
        for text in ["", "\u{0}", "U.S", "É\u{301}tats-Unis", "'-'", "L'"] {
            let _ = gazetteer().places(text);
        }
    }

    #[test]
    fn a_dispatch_sent_twice_counts_each_place_twice() {
        // Work grows linearly with the text (`crate::work`); here the
        // answer does too: no mention is lost or invented at the join.
        let g = gazetteer();
        let once = g.places(ALEPPO_FR);
        let twice = g.places(&ALEPPO_FR.repeat(2));
        assert!(!once.is_empty());
        let doubled: Vec<_> = once
            .iter()
            .map(|p| (p.iso2.clone(), p.mentions * 2))
            .collect();
        let got: Vec<_> = twice.iter().map(|p| (p.iso2.clone(), p.mentions)).collect();
        assert_eq!(got, doubled);
    }
}
