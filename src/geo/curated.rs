//! Parses the hand-curated place table embedded from `cities.tsv`.

use crate::{Error, Result};

/// Where the table lives in the repository, for error messages.
pub(crate) const PATH: &str = "src/geo/cities.tsv";

/// The table itself; see its header for why it is written by hand.
const TABLE: &str = include_str!("cities.tsv");

/// How the forms of a line are written in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Capitalised names: countries, capitals, cities, English demonyms.
    Name,
    /// Capitalised names of states and provinces: a place name just before
    /// one, after a comma, is a town of its country ("Paris, Texas").
    State,
    /// Any case, with a plural in -s added: French demonyms and adjectives.
    Adj,
    /// Exact upper case.
    Acronym,
    /// Capitalised and followed by a dot.
    Abbrev,
    /// Never a country.
    Block,
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// ISO code; `None` for blocked forms.
    pub iso2: Option<String>,
    pub kind: Kind,
    pub forms: Vec<String>,
}

/// The embedded table.
pub(crate) fn lines() -> Result<Vec<Line>> {
    parse(TABLE).map_err(|reason| Error::data(PATH, reason))
}

fn parse(text: &str) -> Result<Vec<Line>, String> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.trim_end_matches('\r');
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let n = i + 1;
        let mut cells = raw.split('\t');
        let (Some(iso2), Some(kind), Some(forms), None) =
            (cells.next(), cells.next(), cells.next(), cells.next())
        else {
            return Err(format!("line {n}: expected iso2, kind and forms"));
        };
        let kind = match kind {
            "name" => Kind::Name,
            "state" => Kind::State,
            "adj" => Kind::Adj,
            "acronym" => Kind::Acronym,
            "abbrev" => Kind::Abbrev,
            "block" => Kind::Block,
            other => return Err(format!("line {n}: unknown kind {other:?}")),
        };
        let iso2 = match (iso2, kind) {
            ("-", Kind::Block) => None,
            (code, Kind::Block) => {
                return Err(format!("line {n}: block lines use \"-\", not {code}"));
            }
            (code, _) if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) => {
                Some(code.to_owned())
            }
            (code, _) => return Err(format!("line {n}: bad iso2 {code:?}")),
        };
        let forms = forms
            .split(';')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect();
        out.push(Line { iso2, kind, forms });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_parses() {
        let lines = lines().expect("embedded table");
        assert!(lines.iter().map(|l| l.forms.len()).sum::<usize>() > 500);
    }

    #[test]
    fn malformed_lines_are_reported() {
        assert_eq!(
            parse("# c\nSY\tcity\tAlep\n"),
            Err("line 2: unknown kind \"city\"".into())
        );
        assert_eq!(
            parse("SY\tname\n"),
            Err("line 1: expected iso2, kind and forms".into())
        );
        assert_eq!(
            parse("SY\tblock\tAlep\n"),
            Err("line 1: block lines use \"-\", not SY".into())
        );
        assert_eq!(
            parse("-\tblock\tGeorgia;;Victoria\n").map(|l| l[0].forms.len()),
            Ok(2)
        );
    }
}
