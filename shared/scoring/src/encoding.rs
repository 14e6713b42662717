//! The stored forms of the working state's long lists: a lead may hold hundreds of hits and
//! counted times, so they are written as gaps from the previous time, and a hit as a short
//! array `[gap, event, signal, message_id?, counted?, bot?]` with absent trailing fields left
//! out. The field names (`window`, `gaps`) differ from the first v2 format's (`hits`,
//! `pending`), so a snapshot written before reads with them empty, and its older rules
//! fingerprint (see [`STATE_FORMAT`]) has it rebuilt from the ledger.

/// Part of every rules fingerprint: a state written in another format is rebuilt from the
/// ledger like one computed under other rules.
pub const STATE_FORMAT: &str = "state-2";

/// Sorted times as the first one and then the gaps between them.
pub(crate) mod gaps {
    use crate::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(times: &[Timestamp], s: S) -> Result<S::Ok, S::Error> {
        let mut previous = 0;
        s.collect_seq(times.iter().map(|t| {
            let gap = t.millis() - previous;
            previous = t.millis();
            gap
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Timestamp>, D::Error> {
        let mut at = 0i64;
        let raw = Vec::<i64>::deserialize(d)?;
        Ok(raw
            .into_iter()
            .map(|gap| {
                at = at.saturating_add(gap);
                Timestamp::from_millis(at)
            })
            .collect())
    }
}

/// Hits (sorted by time) as short rows, each time a gap from the previous hit's.
pub(crate) mod hits {
    use crate::state::Hit;
    use crate::{EventId, Signal, Timestamp};
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::fmt;

    struct Row<'a>(i64, &'a Hit);

    impl Serialize for Row<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let h = self.1;
            let tail = if h.bot.is_some() {
                3
            } else if h.counted.is_some() {
                2
            } else {
                usize::from(h.message_id.is_some())
            };
            let mut seq = s.serialize_seq(Some(3 + tail))?;
            seq.serialize_element(&self.0)?;
            seq.serialize_element(&h.event)?;
            seq.serialize_element(&h.signal)?;
            if tail >= 1 {
                seq.serialize_element(&h.message_id)?;
            }
            if tail >= 2 {
                seq.serialize_element(&h.counted)?;
            }
            if tail >= 3 {
                seq.serialize_element(&h.bot)?;
            }
            seq.end()
        }
    }

    pub fn serialize<S: Serializer>(hits: &[Hit], s: S) -> Result<S::Ok, S::Error> {
        let mut previous = 0;
        let mut seq = s.serialize_seq(Some(hits.len()))?;
        for h in hits {
            seq.serialize_element(&Row(h.at.millis() - previous, h))?;
            previous = h.at.millis();
        }
        seq.end()
    }

    /// A row as read: its gap and the hit with a provisional time.
    struct Read(i64, Hit);

    impl<'de> Deserialize<'de> for Read {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct RowVisitor;
            impl<'de> Visitor<'de> for RowVisitor {
                type Value = Read;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a hit row [gap, event, signal, message_id?, counted?, bot?]")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Read, A::Error> {
                    let missing = |what| A::Error::custom(format!("hit row without {what}"));
                    let gap: i64 = seq.next_element()?.ok_or_else(|| missing("time"))?;
                    let event: EventId = seq.next_element()?.ok_or_else(|| missing("event"))?;
                    let signal: Signal = seq.next_element()?.ok_or_else(|| missing("signal"))?;
                    let message_id = seq.next_element::<Option<String>>()?.flatten();
                    let counted = seq.next_element::<Option<bool>>()?.flatten();
                    let bot = seq.next_element::<Option<String>>()?.flatten();
                    let hit = Hit {
                        at: Timestamp::from_millis(0),
                        event,
                        signal,
                        bot,
                        message_id,
                        counted,
                    };
                    Ok(Read(gap, hit))
                }
            }
            d.deserialize_seq(RowVisitor)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hit>, D::Error> {
        let mut at = 0i64;
        let rows = Vec::<Read>::deserialize(d)?;
        Ok(rows
            .into_iter()
            .map(|Read(gap, mut hit)| {
                at = at.saturating_add(gap);
                hit.at = Timestamp::from_millis(at);
                hit
            })
            .collect())
    }
}
