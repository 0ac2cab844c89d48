//! Share links: `<base URL>?<paste id>#<base58 key>`.

use std::fmt;

use reqwest::Url;

use super::format::PasteKey;
use super::{PrivateBinError, Result};

/// Checks a configured PrivateBin base URL: http(s), with a host, no query and no fragment.
///
/// The path is kept as configured, so an instance under a sub-path (`https://host/privatebin/`)
/// works; the link is built from this public URL rather than from the `url` the server answers,
/// because behind a reverse proxy the path the server sees may differ from the public one.
pub fn parse_base_url(url: &str) -> Result<Url> {
    let invalid = |reason| PrivateBinError::InvalidBaseUrl {
        url: url.to_owned(),
        reason,
    };
    let parsed = Url::parse(url).map_err(|_| invalid("not an absolute URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("the URL has no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid("the URL must not have a query or a fragment"));
    }
    Ok(parsed)
}

/// Checks that a paste id from the server is safe to put in a URL (PrivateBin uses 16 hex digits).
pub(crate) fn checked_paste_id(id: &str) -> Result<&str> {
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(PrivateBinError::InvalidPasteId { id: id.to_owned() })
    }
}

/// `link` without its `#fragment`, the paste key: where the paste is, but not how to read it.
pub(crate) fn without_key(link: &str) -> String {
    match Url::parse(link) {
        Ok(mut url) => {
            url.set_fragment(None);
            url.into()
        }
        // Not a URL this bot made; whatever follows a `#` is still no one's to keep.
        Err(_) => link.split('#').next().unwrap_or_default().to_owned(),
    }
}

/// Where a paste is, without the key to read it: enough to delete it with its token. The links
/// stored with `privatebin.storeKey: false` are only this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasteLocation {
    base: Url,
    id: String,
}

impl PasteLocation {
    /// Parses a link with or without its `#key` (`?<id>` or `?pasteid=<id>`).
    pub fn parse(link: &str) -> Result<Self> {
        split_link(link).map(|(location, _)| location)
    }

    /// The server's base URL.
    pub const fn base(&self) -> &Url {
        &self.base
    }

    /// The paste id, checked safe to put in a URL query.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// A link's server and paste id, and its key fragment if it has one.
fn split_link(link: &str) -> Result<(PasteLocation, Option<String>)> {
    let invalid = |reason| PrivateBinError::InvalidShareLink { reason };
    let mut url = Url::parse(link).map_err(|_| invalid("not an absolute URL"))?;
    let key = url.fragment().map(str::to_owned);
    let query = url
        .query()
        .ok_or_else(|| invalid("no ?id query"))?
        .to_owned();
    let id = query
        .split('&')
        .find_map(|pair| match pair.split_once('=') {
            Some(("pasteid", id)) => Some(id),
            None => Some(pair),
            Some(_) => None,
        })
        .ok_or_else(|| invalid("no paste id in the query"))?;
    url.set_query(None);
    url.set_fragment(None);
    let base = parse_base_url(url.as_str())
        .map_err(|_| invalid("the part before ? is not an http(s) URL"))?;
    let id = checked_paste_id(id)?.to_owned();
    Ok((PasteLocation { base, id }, key))
}

/// A link to one paste, holding the key that decrypts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareLink {
    base: Url,
    id: String,
    key: PasteKey,
}

impl ShareLink {
    /// A link to paste `id` on the server at `base`.
    pub fn new(base: Url, id: &str, key: PasteKey) -> Result<Self> {
        let id = checked_paste_id(id)?.to_owned();
        Ok(Self { base, id, key })
    }

    /// Parses a link as PrivateBin's web client shows it (`?<id>` or `?pasteid=<id>`).
    pub fn parse(link: &str) -> Result<Self> {
        let (location, key) = split_link(link)?;
        let key = key.ok_or(PrivateBinError::InvalidShareLink {
            reason: "no #key fragment",
        })?;
        Self::new(location.base, &location.id, PasteKey::from_base58(&key)?)
    }

    /// The server's base URL: the link without its `?id` query and `#key` fragment.
    pub const fn base(&self) -> &Url {
        &self.base
    }

    /// The paste id, checked safe to put in a URL query.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key that decrypts the paste.
    pub const fn key(&self) -> &PasteKey {
        &self.key
    }
}

impl fmt::Display for ShareLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}?{}#{}", self.base, self.id, self.key.to_base58())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_without_its_key_keeps_the_server_and_the_paste_id() {
        assert_eq!(
            without_key("https://paste.example/sub/?0123456789abcdef#3bVkXJpeGc4"),
            "https://paste.example/sub/?0123456789abcdef"
        );
        assert_eq!(without_key("not a url#key"), "not a url");
    }

    fn key() -> PasteKey {
        PasteKey::from_bytes([7; 32])
    }

    #[test]
    fn link_is_base_query_id_and_key_fragment() {
        let base = parse_base_url("https://paste.example.com/").unwrap();
        let link = ShareLink::new(base, "120e6ac3ad829f1a", key()).unwrap();
        assert_eq!(
            link.to_string(),
            format!(
                "https://paste.example.com/?120e6ac3ad829f1a#{}",
                key().to_base58()
            )
        );
    }

    #[test]
    fn link_keeps_a_sub_path() {
        let base = parse_base_url("https://host.example/privatebin/").unwrap();
        let link = ShareLink::new(base, "abcdef0123456789", key()).unwrap();
        assert!(
            link.to_string()
                .starts_with("https://host.example/privatebin/?abcdef0123456789#")
        );
    }

    #[test]
    fn link_parses_back() {
        let base = parse_base_url("http://127.0.0.1:8080/sub/").unwrap();
        let link = ShareLink::new(base, "abcdef0123456789", key()).unwrap();
        assert_eq!(ShareLink::parse(&link.to_string()).unwrap(), link);
        let with_pasteid = format!(
            "http://127.0.0.1:8080/sub/?pasteid=abcdef0123456789#{}",
            key().to_base58()
        );
        assert_eq!(ShareLink::parse(&with_pasteid).unwrap(), link);
    }

    #[test]
    fn base_urls_with_query_fragment_or_other_scheme_are_refused() {
        for bad in [
            "ftp://host/",
            "https://host/?a=1",
            "https://host/#x",
            "host/",
            "",
        ] {
            assert!(parse_base_url(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn ids_that_could_inject_into_the_link_are_refused() {
        let base = parse_base_url("https://host/").unwrap();
        for bad in ["", "abc#def", "a/b", "../x", "a b"] {
            assert!(
                ShareLink::new(base.clone(), bad, key()).is_err(),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn a_location_is_read_from_a_link_with_or_without_its_key() {
        let base = parse_base_url("http://127.0.0.1:8080/sub/").unwrap();
        let link = ShareLink::new(base.clone(), "abcdef0123456789", key()).unwrap();
        for text in [
            link.to_string(),
            without_key(&link.to_string()),
            "http://127.0.0.1:8080/sub/?pasteid=abcdef0123456789".to_owned(),
        ] {
            let location = PasteLocation::parse(&text).unwrap();
            assert_eq!(location.base(), &base, "{text}");
            assert_eq!(location.id(), "abcdef0123456789", "{text}");
        }
        for bad in [
            "https://host/",
            "https://host/?a/b",
            "ftp://host/?abcdef0123456789",
        ] {
            assert!(PasteLocation::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn links_without_a_key_an_id_or_a_scheme_are_refused() {
        let key = key().to_base58();
        for bad in [
            "https://host/?abcdef0123456789".to_owned(),
            format!("https://host/#{key}"),
            format!("host/?abcdef0123456789#{key}"),
            format!("ftp://host/?abcdef0123456789#{key}"),
        ] {
            assert!(ShareLink::parse(&bad).is_err(), "{bad} was accepted");
        }
    }
}
