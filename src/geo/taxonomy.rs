//! Reads the shared taxonomy tables: countries, country aliases, M49 regions.

use std::collections::HashSet;
use std::path::Path;

use crate::{Error, Result};

/// A row of `countries.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CountryRow {
    pub iso2: String,
    pub name_en: String,
    pub name_fr: String,
    pub region: String,
    pub subregion: String,
    pub intermediate: String,
    /// `capital_en`, split on ';' (South Africa has three).
    pub capitals: Vec<String>,
    /// `demonyms_fr`, split on ';' (masculine then feminine).
    pub demonyms_fr: Vec<String>,
    /// `demonyms_en`, split on ';'.
    pub demonyms_en: Vec<String>,
}

/// A row of `country_aliases.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AliasRow {
    pub iso2: String,
    pub alias: String,
}

/// The three tables, checked against each other.
#[derive(Debug, Clone, Default)]
pub(crate) struct Taxonomy {
    /// Sorted by ISO code.
    pub countries: Vec<CountryRow>,
    pub aliases: Vec<AliasRow>,
    /// (code, English name), sorted by code.
    pub regions: Vec<(String, String)>,
}

/// Reads `m49_regions.tsv`, `countries.tsv` and `country_aliases.tsv` from
/// `dir`.
pub(crate) fn read(dir: &Path) -> Result<Taxonomy> {
    let regions = read_regions(&dir.join("m49_regions.tsv"))?;
    let countries = read_countries(&dir.join("countries.tsv"), &regions)?;
    let aliases = read_aliases(&dir.join("country_aliases.tsv"), &countries)?;
    Ok(Taxonomy {
        countries,
        aliases,
        regions,
    })
}

fn read_regions(path: &Path) -> Result<Vec<(String, String)>> {
    let mut regions = Vec::new();
    let mut seen = HashSet::new();
    for (line, cells) in read_table(path, &["code", "name_en"])? {
        let [code, name] = <[String; 2]>::try_from(cells).map_err(|_| bad_shape(path, line))?;
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::data(
                path,
                format!("line {line}: bad M49 code {code:?}"),
            ));
        }
        if !seen.insert(code.clone()) {
            return Err(Error::data(
                path,
                format!("line {line}: duplicate code {code}"),
            ));
        }
        regions.push((code, name));
    }
    regions.sort();
    Ok(regions)
}

fn read_countries(path: &Path, regions: &[(String, String)]) -> Result<Vec<CountryRow>> {
    const COLUMNS: [&str; 9] = [
        "iso2",
        "name_en",
        "name_fr",
        "region_code",
        "subregion_code",
        "intermediate_region_code",
        "capital_en",
        "demonyms_fr",
        "demonyms_en",
    ];
    let known = |code: &str| code.is_empty() || regions.iter().any(|(c, _)| c == code);
    let mut countries = Vec::new();
    let mut seen = HashSet::new();
    for (line, cells) in read_table(path, &COLUMNS)? {
        let [
            iso2,
            name_en,
            name_fr,
            region,
            subregion,
            intermediate,
            capitals,
            dem_fr,
            dem_en,
        ] = <[String; 9]>::try_from(cells).map_err(|_| bad_shape(path, line))?;
        if iso2.len() != 2 || !iso2.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Error::data(path, format!("line {line}: bad iso2 {iso2:?}")));
        }
        if !seen.insert(iso2.clone()) {
            return Err(Error::data(
                path,
                format!("line {line}: duplicate iso2 {iso2}"),
            ));
        }
        if let Some(code) = [&region, &subregion, &intermediate]
            .into_iter()
            .find(|c| !known(c))
        {
            return Err(Error::data(
                path,
                format!("line {line}: {iso2} has unknown M49 code {code}"),
            ));
        }
        countries.push(CountryRow {
            iso2,
            name_en,
            name_fr,
            region,
            subregion,
            intermediate,
            capitals: split_list(&capitals),
            demonyms_fr: split_list(&dem_fr),
            demonyms_en: split_list(&dem_en),
        });
    }
    if countries.is_empty() {
        return Err(Error::data(path, "no countries"));
    }
    if countries.len() > usize::from(u16::MAX) {
        return Err(Error::data(path, "too many countries"));
    }
    countries.sort_by(|a, b| a.iso2.cmp(&b.iso2));
    Ok(countries)
}

fn read_aliases(path: &Path, countries: &[CountryRow]) -> Result<Vec<AliasRow>> {
    let mut aliases = Vec::new();
    for (line, cells) in read_table(path, &["iso2", "alias"])? {
        let [iso2, alias] = <[String; 2]>::try_from(cells).map_err(|_| bad_shape(path, line))?;
        if countries
            .binary_search_by(|c| c.iso2.as_str().cmp(&iso2))
            .is_err()
        {
            return Err(Error::data(
                path,
                format!("line {line}: unknown country {iso2:?}"),
            ));
        }
        aliases.push(AliasRow { iso2, alias });
    }
    Ok(aliases)
}

fn split_list(cell: &str) -> Vec<String> {
    cell.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn bad_shape(path: &Path, line: usize) -> Error {
    Error::data(path, format!("line {line}: wrong number of cells"))
}

/// The `columns` of every data row of a TSV file with a header line, with
/// the 1-based line number of the row.
fn read_table(path: &Path, columns: &[&str]) -> Result<Vec<(usize, Vec<String>)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_table(&text, columns).map_err(|reason| Error::data(path, reason))
}

fn parse_table(text: &str, columns: &[&str]) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut lines = text.trim_start_matches('\u{feff}').lines().enumerate();
    let header: Vec<&str> = match lines.next() {
        Some((_, h)) => h.trim_end_matches('\r').split('\t').collect(),
        None => return Err("empty file".into()),
    };
    let at: Vec<usize> = columns
        .iter()
        .map(|c| {
            header
                .iter()
                .position(|h| h.trim() == *c)
                .ok_or_else(|| format!("missing column {c}"))
        })
        .collect::<Result<_, _>>()?;
    let mut rows = Vec::new();
    for (i, raw) in lines {
        let raw = raw.trim_end_matches('\r');
        if raw.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = raw.split('\t').collect();
        if cells.len() != header.len() {
            return Err(format!(
                "line {}: {} cells, the header has {}",
                i + 1,
                cells.len(),
                header.len()
            ));
        }
        let row = at
            .iter()
            .map(|&k| {
                cells
                    .get(k)
                    .map_or_else(String::new, |c| c.trim().to_owned())
            })
            .collect();
        rows.push((i + 1, row));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_are_found_by_name() {
        let rows = parse_table("b\ta\n2\t1\r\n\n4\t3\n", &["a", "b"]);
        assert_eq!(
            rows,
            Ok(vec![
                (2, vec!["1".to_owned(), "2".to_owned()]),
                (4, vec!["3".to_owned(), "4".to_owned()])
            ])
        );
    }

    #[test]
    fn table_errors_are_one_line_reasons() {
        assert_eq!(parse_table("", &["a"]), Err("empty file".into()));
        assert_eq!(
            parse_table("b\n1\n", &["a"]),
            Err("missing column a".into())
        );
        assert_eq!(
            parse_table("a\tb\n1\n", &["a"]),
            Err("line 2: 1 cells, the header has 2".into())
        );
    }

    #[test]
    fn missing_folder_is_an_io_error() {
        let err = read(Path::new("/nonexistent/taxonomy"));
        assert!(matches!(err, Err(Error::Io { .. })));
    }
}
