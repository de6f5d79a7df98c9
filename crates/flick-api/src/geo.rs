//! Coarse country lookup for choosing a new account's home region.
//!
//! When an account is created, Flick needs a home region for it, and the
//! only signal it uses is the country the request came from. The request
//! address is looked up here at request time and then dropped: it is never
//! stored, logged, or attached to the account. Only the country is kept, and
//! only long enough to pick a region. A country is deliberately coarse —
//! it is enough to keep data near the user without saying where they are.
//!
//! The table is the operator's to provide, as CSV in the DB-IP "IP to
//! Country Lite" format (a free download, refreshed monthly). Each line is
//! `start_ip,end_ip,country_code`: an inclusive range of IPv4 or IPv6
//! addresses and an ISO 3166-1 alpha-2 code. Fields may be wrapped in double
//! quotes, blank lines and `#` comments are ignored, and `ZZ` (unknown) rows
//! are skipped, so an unknown address simply has no country.

use std::fmt;
use std::net::IpAddr;

/// An ISO 3166-1 alpha-2 country code, uppercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Country([u8; 2]);

impl Country {
    /// Parses two ASCII letters in any case; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Some(Country([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => None,
        }
    }

    pub fn as_str(&self) -> &str {
        // `parse` only admits ASCII letters, so this is always valid UTF-8.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A problem in the country CSV, naming the 1-based line it is on so the
/// operator can find and fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeoError {
    pub line: usize,
    pub message: String,
}

impl GeoError {
    fn new(line: usize, message: impl Into<String>) -> Self {
        GeoError {
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for GeoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for GeoError {}

/// IP ranges mapped to countries, sorted by start and non-overlapping so a
/// lookup is a single binary search.
#[derive(Debug, Clone, Default)]
pub struct CountryTable {
    v4: Vec<(u32, u32, Country)>,
    v6: Vec<(u128, u128, Country)>,
}

impl CountryTable {
    /// Loads a DB-IP "IP to Country Lite" CSV.
    ///
    /// The whole file is rejected on the first bad line rather than loading
    /// what parses: a half-loaded table would quietly send some users to the
    /// wrong region.
    pub fn from_csv(text: &str) -> Result<Self, GeoError> {
        // Ranges keep their line number until the overlap check has run, so
        // that error can point at the file.
        let mut v4: Vec<(u32, u32, Country, usize)> = Vec::new();
        let mut v6: Vec<(u128, u128, Country, usize)> = Vec::new();

        // Files saved by some spreadsheet tools start with a byte-order mark.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);

        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }

            let fields: Vec<&str> = line.split(',').collect();
            let [start, end, country] = fields[..] else {
                return Err(GeoError::new(
                    line_no,
                    format!(
                        "expected start,end,country but found {} field{}",
                        fields.len(),
                        if fields.len() == 1 { "" } else { "s" }
                    ),
                ));
            };
            let start = unquote(start, line_no)?;
            let end = unquote(end, line_no)?;
            let country = unquote(country, line_no)?;

            let start = parse_ip(start, "start", line_no)?;
            let end = parse_ip(end, "end", line_no)?;
            let Some(country) = Country::parse(country) else {
                return Err(GeoError::new(
                    line_no,
                    format!("`{country}` is not a two-letter country code"),
                ));
            };

            // Checked before the `ZZ` skip so a malformed unknown row is
            // still reported rather than hidden.
            match (start, end) {
                (IpAddr::V4(s), IpAddr::V4(e)) => {
                    let (s, e) = (u32::from(s), u32::from(e));
                    check_order(s <= e, line_no)?;
                    if country != UNKNOWN {
                        v4.push((s, e, country, line_no));
                    }
                }
                (IpAddr::V6(s), IpAddr::V6(e)) => {
                    let (s, e) = (u128::from(s), u128::from(e));
                    check_order(s <= e, line_no)?;
                    if country != UNKNOWN {
                        v6.push((s, e, country, line_no));
                    }
                }
                _ => {
                    return Err(GeoError::new(
                        line_no,
                        "start and end are different IP versions",
                    ));
                }
            }
        }

        Ok(CountryTable {
            v4: sort_and_check(v4)?,
            v6: sort_and_check(v6)?,
        })
    }

    /// The country `ip` falls in, or `None` if no range covers it.
    pub fn lookup(&self, ip: IpAddr) -> Option<Country> {
        match ip {
            IpAddr::V4(v4) => find(&self.v4, u32::from(v4)),
            // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d;
            // those belong to the IPv4 table.
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => find(&self.v4, u32::from(v4)),
                None => find(&self.v6, u128::from(v6)),
            },
        }
    }

    /// The number of ranges loaded (IPv4 and IPv6 together).
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

/// DB-IP's code for "country not known".
const UNKNOWN: Country = Country(*b"ZZ");

/// Trims a field and strips one pair of surrounding double quotes.
fn unquote(field: &str, line_no: usize) -> Result<&str, GeoError> {
    let field = field.trim();
    let inner = match field.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"'),
        None => Some(field),
    };
    match inner {
        Some(inner) if !inner.contains('"') => Ok(inner.trim()),
        _ => Err(GeoError::new(
            line_no,
            format!("`{field}` has an unmatched or stray double quote"),
        )),
    }
}

fn parse_ip(field: &str, which: &str, line_no: usize) -> Result<IpAddr, GeoError> {
    if field.is_empty() {
        return Err(GeoError::new(
            line_no,
            format!("the {which} address is empty"),
        ));
    }
    field
        .parse()
        .map_err(|_| GeoError::new(line_no, format!("`{field}` is not an IP address")))
}

fn check_order(ordered: bool, line_no: usize) -> Result<(), GeoError> {
    if ordered {
        Ok(())
    } else {
        Err(GeoError::new(line_no, "start is after end"))
    }
}

/// Sorts ranges by start and rejects overlaps. Two ranges claiming the same
/// address would make the answer depend on sort order, so the operator has
/// to resolve it. Once sorted, any overlap shows up between neighbours.
fn sort_and_check<T: Ord + Copy>(
    mut ranges: Vec<(T, T, Country, usize)>,
) -> Result<Vec<(T, T, Country)>, GeoError> {
    ranges.sort_by_key(|r| r.0);
    for pair in ranges.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if b.0 <= a.1 {
            // Report the later line in the file: reading top to bottom, that
            // is where the conflict appears.
            let (line, other) = if a.3 > b.3 { (a.3, b.3) } else { (b.3, a.3) };
            return Err(GeoError::new(
                line,
                format!("this range overlaps the range on line {other}"),
            ));
        }
    }
    Ok(ranges.into_iter().map(|(s, e, c, _)| (s, e, c)).collect())
}

/// Binary search for the range containing `ip` in start-sorted,
/// non-overlapping `ranges`.
fn find<T: Ord + Copy>(ranges: &[(T, T, Country)], ip: T) -> Option<Country> {
    // The last range starting at or before `ip` is the only candidate.
    let after = ranges.partition_point(|r| r.0 <= ip);
    let (_, end, country) = *ranges.get(after.checked_sub(1)?)?;
    (ip <= end).then_some(country)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn country(s: &str) -> Option<Country> {
        Some(Country::parse(s).unwrap())
    }

    fn err(text: &str) -> GeoError {
        CountryTable::from_csv(text).unwrap_err()
    }

    const SAMPLE: &str = "\
1.0.0.0,1.0.0.255,AU
1.0.4.0,1.0.7.255,AU
2.0.0.0,2.255.255.255,FR
2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,JP
2a00:1450::,2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff,IE
";

    #[test]
    fn country_parse() {
        assert_eq!(Country::parse("de").unwrap().as_str(), "DE");
        assert_eq!(Country::parse("De").unwrap().to_string(), "DE");
        assert_eq!(Country::parse("DE"), Country::parse("de"));
        assert_eq!(Country::parse("D"), None);
        assert_eq!(Country::parse("DEU"), None);
        assert_eq!(Country::parse("D1"), None);
        assert_eq!(Country::parse(""), None);
        assert_eq!(Country::parse("é"), None);
    }

    #[test]
    fn v4_lookup_edges_and_outside() {
        let t = CountryTable::from_csv(SAMPLE).unwrap();
        assert_eq!(t.len(), 5);
        assert!(!t.is_empty());
        assert_eq!(t.lookup(ip("1.0.0.0")), country("AU"));
        assert_eq!(t.lookup(ip("1.0.0.128")), country("AU"));
        assert_eq!(t.lookup(ip("1.0.0.255")), country("AU"));
        assert_eq!(t.lookup(ip("1.0.1.0")), None);
        assert_eq!(t.lookup(ip("1.0.3.255")), None);
        assert_eq!(t.lookup(ip("1.0.4.0")), country("AU"));
        assert_eq!(t.lookup(ip("2.255.255.255")), country("FR"));
        assert_eq!(t.lookup(ip("0.0.0.0")), None);
        assert_eq!(t.lookup(ip("0.255.255.255")), None);
        assert_eq!(t.lookup(ip("3.0.0.0")), None);
        assert_eq!(t.lookup(ip("255.255.255.255")), None);
    }

    #[test]
    fn v6_lookup() {
        let t = CountryTable::from_csv(SAMPLE).unwrap();
        assert_eq!(t.lookup(ip("2001:200::")), country("JP"));
        assert_eq!(t.lookup(ip("2001:200::1")), country("JP"));
        assert_eq!(
            t.lookup(ip("2001:200:ffff:ffff:ffff:ffff:ffff:ffff")),
            country("JP")
        );
        assert_eq!(t.lookup(ip("2001:201::")), None);
        assert_eq!(t.lookup(ip("2a00:1450:4001::1")), country("IE"));
        assert_eq!(t.lookup(ip("::1")), None);
        assert_eq!(t.lookup(ip("ffff::")), None);
    }

    #[test]
    fn mapped_v4_in_v6_uses_v4_table() {
        let t = CountryTable::from_csv(SAMPLE).unwrap();
        assert_eq!(t.lookup(ip("::ffff:1.0.0.7")), country("AU"));
        assert_eq!(t.lookup(ip("::ffff:2.1.2.3")), country("FR"));
        assert_eq!(t.lookup(ip("::ffff:9.9.9.9")), None);
    }

    #[test]
    fn quoted_fields() {
        let t = CountryTable::from_csv(
            "\"1.0.0.0\",\"1.0.0.255\",\"AU\"\n\"2001:200::\",\"2001:200::ff\",\"jp\"\n",
        )
        .unwrap();
        assert_eq!(t.lookup(ip("1.0.0.9")), country("AU"));
        assert_eq!(t.lookup(ip("2001:200::10")), country("JP"));
    }

    #[test]
    fn comments_blank_lines_crlf_and_bom() {
        let text = "\u{feff}# DB-IP lite\r\n\r\n  \r\n1.0.0.0,1.0.0.255,AU\r\n  # note\r\n";
        let t = CountryTable::from_csv(text).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t.lookup(ip("1.0.0.1")), country("AU"));
    }

    #[test]
    fn zz_is_skipped() {
        let t = CountryTable::from_csv("1.0.0.0,1.0.0.255,ZZ\n2.0.0.0,2.0.0.255,zz\n").unwrap();
        assert!(t.is_empty());
        assert_eq!(t.len(), 0);
        assert_eq!(t.lookup(ip("1.0.0.1")), None);
        // A skipped unknown range may overlap a known one without error.
        let t = CountryTable::from_csv("1.0.0.0,1.0.0.255,ZZ\n1.0.0.0,1.0.0.9,AU\n").unwrap();
        assert_eq!(t.lookup(ip("1.0.0.5")), country("AU"));
        assert_eq!(t.lookup(ip("1.0.0.50")), None);
    }

    #[test]
    fn empty_table() {
        let t = CountryTable::from_csv("").unwrap();
        assert!(t.is_empty());
        assert_eq!(t.lookup(ip("1.2.3.4")), None);
        assert_eq!(t.lookup(ip("::1")), None);
        assert!(CountryTable::default().is_empty());
    }

    #[test]
    fn bad_address() {
        let e = err("# header\n1.0.0.0,1.0.0.255,AU\n1.2.3,1.2.3.255,AU\n");
        assert_eq!(e.line, 3);
        assert_eq!(e.message, "`1.2.3` is not an IP address");
        assert_eq!(e.to_string(), "line 3: `1.2.3` is not an IP address");

        let e = err("1.0.0.0,nope,AU\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (1, "`nope` is not an IP address")
        );

        let e = err("\n1.0.0.0,,AU\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (2, "the end address is empty")
        );
    }

    #[test]
    fn mixed_versions() {
        let e = err("1.0.0.0,1.0.0.255,AU\n1.0.0.0,::1,AU\n");
        assert_eq!(e.line, 2);
        assert_eq!(e.message, "start and end are different IP versions");
    }

    #[test]
    fn start_after_end() {
        let e = err("1.0.0.255,1.0.0.0,AU\n");
        assert_eq!((e.line, e.message.as_str()), (1, "start is after end"));
        let e = err("\n\n2001:200::ff,2001:200::,JP\n");
        assert_eq!((e.line, e.message.as_str()), (3, "start is after end"));
    }

    #[test]
    fn bad_country() {
        let e = err("1.0.0.0,1.0.0.255,AU\n2.0.0.0,2.0.0.255,XYZ\n");
        assert_eq!(e.line, 2);
        assert_eq!(e.message, "`XYZ` is not a two-letter country code");
        let e = err("1.0.0.0,1.0.0.255,\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (1, "`` is not a two-letter country code")
        );
    }

    #[test]
    fn wrong_field_count() {
        let e = err("1.0.0.0,1.0.0.255,AU\n1.0.0.0,1.0.0.255\n");
        assert_eq!(e.line, 2);
        assert_eq!(e.message, "expected start,end,country but found 2 fields");
        let e = err("1.0.0.0 1.0.0.255 AU\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (1, "expected start,end,country but found 1 field")
        );
        let e = err("1.0.0.0,1.0.0.255,AU,extra\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (1, "expected start,end,country but found 4 fields")
        );
    }

    #[test]
    fn stray_quote() {
        let e = err("\"1.0.0.0,1.0.0.255,AU\n");
        assert_eq!(e.line, 1);
        assert_eq!(
            e.message,
            "`\"1.0.0.0` has an unmatched or stray double quote"
        );
    }

    #[test]
    fn overlap_detected() {
        // The later line in the file is blamed, whatever the sort order.
        let e = err("1.0.0.0,1.0.0.255,AU\n# gap\n1.0.0.255,1.0.1.0,AU\n");
        assert_eq!(e.line, 3);
        assert_eq!(e.message, "this range overlaps the range on line 1");

        let e = err("1.0.1.0,1.0.1.255,AU\n1.0.0.0,1.0.5.0,AU\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (2, "this range overlaps the range on line 1")
        );

        let e = err("2001:200::,2001:200::ff,JP\n2001:200::10,2001:200::20,JP\n");
        assert_eq!(e.line, 2);

        // Touching ranges and the same numbers in different families are fine.
        let t = CountryTable::from_csv(
            "1.0.0.0,1.0.0.255,AU\n1.0.1.0,1.0.1.255,NZ\n::,::ff,DE\n0.0.0.0,0.0.0.255,FR\n",
        )
        .unwrap();
        assert_eq!(t.lookup(ip("1.0.0.255")), country("AU"));
        assert_eq!(t.lookup(ip("1.0.1.0")), country("NZ"));
        assert_eq!(t.lookup(ip("0.0.0.5")), country("FR"));
        assert_eq!(t.lookup(ip("::5")), country("DE"));
    }

    #[test]
    fn unsorted_input_is_sorted() {
        let t = CountryTable::from_csv(
            "3.0.0.0,3.0.0.255,US\n1.0.0.0,1.0.0.255,AU\n2.0.0.0,2.0.0.255,FR\n",
        )
        .unwrap();
        assert_eq!(t.lookup(ip("1.0.0.1")), country("AU"));
        assert_eq!(t.lookup(ip("2.0.0.1")), country("FR"));
        assert_eq!(t.lookup(ip("3.0.0.1")), country("US"));
    }
}

/// How signup picks an account's home region: the region the client asks
/// for, else the region configured for the client's country, else the
/// node's first held region. The country comes from a header set by a
/// trusted edge proxy, else from the country table; the address it came
/// from is looked up and dropped.
#[derive(Debug, Clone)]
pub struct SignupRegions {
    pub all: Vec<flick_store::RegionCode>,
    pub default: flick_store::RegionCode,
    pub countries: std::collections::HashMap<Country, flick_store::RegionCode>,
    pub table: Option<CountryTable>,
    pub header: Option<axum::http::HeaderName>,
}

impl Default for SignupRegions {
    fn default() -> Self {
        let local = flick_store::RegionCode::parse("local").expect("valid code");
        Self {
            all: vec![local.clone()],
            default: local,
            countries: Default::default(),
            table: None,
            header: None,
        }
    }
}

impl SignupRegions {
    pub fn country(
        &self,
        headers: &axum::http::HeaderMap,
        addr: Option<IpAddr>,
    ) -> Option<Country> {
        let from_header = self
            .header
            .as_ref()
            .and_then(|h| headers.get(h))
            .and_then(|v| v.to_str().ok())
            .and_then(Country::parse);
        from_header.or_else(|| self.table.as_ref()?.lookup(addr?))
    }

    /// The home region for a new account. `None` with a requested region
    /// that the deployment does not have.
    pub fn pick(
        &self,
        requested: Option<&str>,
        headers: &axum::http::HeaderMap,
        addr: Option<IpAddr>,
    ) -> Option<flick_store::RegionCode> {
        if let Some(r) = requested {
            return self.all.iter().find(|c| c.as_str() == r).cloned();
        }
        let by_country = self
            .country(headers, addr)
            .and_then(|c| self.countries.get(&c).cloned());
        Some(by_country.unwrap_or_else(|| self.default.clone()))
    }
}
