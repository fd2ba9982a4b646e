//! Message catalogues: every text the web interface shows comes from `i18n/<lang>.toml`
//! (embedded in the binary), English and Spanish, with the same keys. The language is the
//! user's choice (the `lang` cookie) or else the browser's `Accept-Language`.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};

/// The cookie holding the language a user chose.
pub const LANG_COOKIE: &str = "lang";

/// A language of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Es,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    /// The BCP 47 tag (`lang` attribute, cookie value).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// The language's own name, shown in the language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Es => "Español",
        }
    }

    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.tag() == primary)
    }

    /// The `lang` cookie if set to a known language, else the best of `Accept-Language`
    /// (by q-value), else English.
    pub fn of_request(headers: &HeaderMap) -> Lang {
        let cookie = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == LANG_COOKIE)
            .and_then(|(_, v)| Lang::parse(v));
        cookie
            .or_else(|| {
                headers
                    .get(ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(accept_language)
            })
            .unwrap_or(Lang::En)
    }

    fn catalogue(self) -> &'static HashMap<String, String> {
        let all = catalogues();
        match self {
            Lang::En => &all[0],
            Lang::Es => &all[1],
        }
    }
}

/// The most preferred known language of an `Accept-Language` header.
fn accept_language(header: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for part in header.split(',') {
        let mut pieces = part.split(';');
        let Some(lang) = pieces.next().and_then(Lang::parse) else {
            continue;
        };
        let q = pieces
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, l)| l)
}

pub(crate) const SOURCES: [(&str, &str); 2] = [
    ("en", include_str!("../../i18n/en.toml")),
    ("es", include_str!("../../i18n/es.toml")),
];

fn catalogues() -> &'static [HashMap<String, String>; 2] {
    static CATALOGUES: OnceLock<[HashMap<String, String>; 2]> = OnceLock::new();
    CATALOGUES.get_or_init(|| {
        // The catalogues are compiled in and checked by the tests; a broken one shows keys.
        SOURCES.map(|(_, text)| parse(text).unwrap_or_default())
    })
}

/// A catalogue as flat dotted keys (`nav.dashboard`).
pub(crate) fn parse(text: &str) -> Result<HashMap<String, String>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut out = HashMap::new();
    flatten("", &toml::Value::Table(table), &mut out)?;
    Ok(out)
}

fn flatten(
    prefix: &str,
    value: &toml::Value,
    out: &mut HashMap<String, String>,
) -> Result<(), String> {
    match value {
        toml::Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
            Ok(())
        }
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out)?;
            }
            Ok(())
        }
        other => Err(format!("`{prefix}` is not a string: {other:?}")),
    }
}

/// Looks up texts in one language.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    /// The text for `key`; the key itself if missing (a test keeps that from happening).
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        self.lang.catalogue().get(key).map_or(key, String::as_str)
    }

    /// The text for `key` with `{}` replaced by `arg`.
    pub fn t1(&self, key: &str, arg: impl std::fmt::Display) -> String {
        self.lang
            .catalogue()
            .get(key)
            .map_or_else(|| key.to_owned(), |s| s.replacen("{}", &arg.to_string(), 1))
    }

    /// The text for a dynamic key (`prefix.name`), or `name` itself when the catalogue has
    /// no entry (data, not interface text: a check id the catalogue does not know yet).
    pub fn dynamic(&self, prefix: &str, name: &str) -> String {
        self.lang
            .catalogue()
            .get(&format!("{prefix}.{name}"))
            .cloned()
            .unwrap_or_else(|| name.to_owned())
    }

    /// The text for `key` with its `{}` replaced by `args` in order.
    pub fn tn(&self, key: &str, args: &[&str]) -> String {
        let mut out = self.t(key).to_owned();
        for a in args {
            out = out.replacen("{}", a, 1);
        }
        out
    }

    /// A count with the language's thousands separator (110,000; 110.000).
    pub fn count(&self, n: usize) -> String {
        let sep = match self.lang {
            Lang::En => ',',
            Lang::Es => '.',
        };
        let digits = n.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(sep);
            }
            out.push(d);
        }
        out
    }

    pub fn has(&self, key: &str) -> bool {
        self.lang.catalogue().contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_known_language() {
        assert_eq!(accept_language("es-SV,es;q=0.9,en;q=0.8"), Some(Lang::Es));
        assert_eq!(accept_language("fr-FR, en;q=0.5, es;q=0.7"), Some(Lang::Es));
        assert_eq!(accept_language("fr, de"), None);
        assert_eq!(accept_language("es;q=0, en;q=0.1"), Some(Lang::En));
    }

    #[test]
    fn a_lang_cookie_wins_over_the_browser() {
        let mut h = HeaderMap::new();
        h.insert(
            ACCEPT_LANGUAGE,
            "en-GB".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(Lang::of_request(&h), Lang::En);
        h.insert(
            COOKIE,
            "habeas_session=x; lang=es"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(Lang::of_request(&h), Lang::Es);
    }
}
