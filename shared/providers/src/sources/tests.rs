//! The table against the routes (`Channel::sources`) and against the README's tables: the
//! rows of the channels built (all of them by default).

use super::*;

const CHANNELS: [Channel; 3] = [Channel::Forms, Channel::Chatbot, Channel::Email];

#[test]
fn every_routed_source_has_exactly_one_row() {
    for channel in CHANNELS.into_iter().filter(|c| c.is_built()) {
        for source in channel.sources() {
            let rows: Vec<&Source> = all().filter(|s| s.name == *source).collect();
            assert_eq!(rows.len(), 1, "{source}: one row");
            assert!(
                rows[0].channels.contains(&channel),
                "{source} on {channel:?}"
            );
            assert!(find(channel, source).is_some(), "{source}");
        }
    }
    for row in all() {
        for channel in CHANNELS {
            assert_eq!(
                row.channels.contains(&channel),
                channel.sources().contains(&row.name),
                "{} on {channel:?}",
                row.name
            );
        }
        assert!(!row.media.is_empty(), "{}", row.name);
    }
}

/// The README's authentication cell of `source`: the last cell of its table row.
fn readme_cell(source: &str) -> String {
    let start = format!("| `{source}` |");
    let line = include_str!("../../README.md")
        .lines()
        .find(|l| l.starts_with(&start))
        .unwrap_or_else(|| panic!("{source}: no row in README.md"));
    let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
    cells.last().copied().unwrap_or_default().to_lowercase()
}

/// Words the README must use to describe a scheme; each inner list: at least one of them.
fn words(scheme: &Scheme, out: &mut Vec<Vec<String>>) {
    let one = |w: &str| vec![w.to_lowercase()];
    let place = |p: &Place| match p {
        Place::Header(h) => one(h),
        Place::Query(q) => one(&format!("`{q}` query parameter")),
        Place::Body(path) => one(&format!("`{}`", path.last().copied().unwrap_or_default())),
    };
    match scheme {
        Scheme::Origin => out.push(one("Origin")),
        Scheme::Hmac(h) => {
            out.push(place(&h.signature.place));
            out.extend(h.signature.prefix.map(one));
            out.push(one(match h.algorithm {
                Algorithm::Sha1 => "HMAC-SHA1",
                Algorithm::Sha256 => "HMAC-SHA256",
            }));
            out.push(one(match h.signature.encoding {
                Encoding::Hex => "hex",
                Encoding::Base64 => "base64",
            }));
            for part in h.signed {
                out.push(match part {
                    Part::Text(t) => one(t),
                    Part::Body => one("body"),
                    Part::Timestamp => one("timestamp"),
                    Part::Method => one("method"),
                    Part::Url { .. } => one("URL"),
                    Part::SortedFormFields => one("sorted fields"),
                    Part::Token(_) => one("token"),
                });
            }
            if let Some(Place::Header(h)) = h.timestamp {
                out.push(one(h));
            }
            if let Some(t) = &h.test_batch {
                out.push(one(t.key));
            }
        }
        Scheme::StandardWebhooks => out.push(one("Standard Webhooks")),
        #[cfg(feature = "email")]
        Scheme::Ecdsa { signature, .. } => {
            out.push(one("ECDSA"));
            out.push(one(signature));
            out.push(one("timestamp"));
        }
        #[cfg(feature = "email")]
        Scheme::Sns => out.push(one("SNS")),
        Scheme::SharedToken { places, .. } => out.extend(places.iter().map(place)),
        Scheme::Authorization => out.push(vec!["basic".into(), "bearer".into()]),
        Scheme::Either {
            then, otherwise, ..
        } => {
            words(then, out);
            words(otherwise, out);
        }
    }
}

fn timestamped(scheme: &Scheme) -> bool {
    match scheme {
        Scheme::Hmac(h) => h.timestamp.is_some(),
        Scheme::StandardWebhooks => true,
        #[cfg(feature = "email")]
        Scheme::Ecdsa { .. } => true,
        Scheme::Either {
            then, otherwise, ..
        } => timestamped(then) || timestamped(otherwise),
        _ => false,
    }
}

#[test]
fn the_readme_describes_every_scheme_of_the_table() {
    for row in all() {
        let cell = readme_cell(row.name);
        let mut wanted = Vec::new();
        words(&row.scheme, &mut wanted);
        if row.url_check {
            wanted.push(vec!["get/head".into()]);
        }
        for alternatives in wanted {
            assert!(
                alternatives.iter().any(|w| cell.contains(w.as_str())),
                "{}: README.md's authentication should mention {alternatives:?}: {cell}",
                row.name
            );
        }
        assert_eq!(
            cell.contains("5 min"),
            timestamped(&row.scheme),
            "{}: the README's 5-minute window and the table disagree: {cell}",
            row.name
        );
    }
}

/// What the verifier relies on: a signed timestamp has a place, body fields come from a JSON
/// body, a test batch is a form field.
#[test]
fn rows_are_consistent() {
    fn check(name: &str, scheme: &Scheme, media: &[&str]) {
        match scheme {
            Scheme::Hmac(h) => {
                if h.signed.contains(&Part::Timestamp) {
                    assert!(
                        h.timestamp.is_some(),
                        "{name}: signs a timestamp it has not"
                    );
                }
                let mut places = vec![h.signature.place];
                places.extend(h.timestamp);
                places.extend(h.signed.iter().filter_map(|p| match p {
                    Part::Token(place) => Some(*place),
                    _ => None,
                }));
                if places.iter().any(|p| matches!(p, Place::Body(_))) {
                    assert_eq!(media, ["application/json"], "{name}");
                }
                if h.test_batch.is_some() {
                    assert_eq!(media, ["application/x-www-form-urlencoded"], "{name}");
                }
            }
            Scheme::SharedToken { places, .. } => {
                assert!(!places.is_empty(), "{name}");
                if places.iter().any(|p| matches!(p, Place::Body(_))) {
                    assert_eq!(media, ["application/json"], "{name}");
                }
            }
            Scheme::Either {
                then, otherwise, ..
            } => {
                check(name, then, media);
                check(name, otherwise, media);
            }
            _ => {}
        }
    }
    for row in all() {
        check(row.name, &row.scheme, row.media);
    }
}
