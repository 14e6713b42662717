//! Small statistics: Wilson intervals, quantiles, UTC months, bounded id lists.

use leadscore_scoring::{Timestamp, MILLIS_PER_DAY};
use serde::Serialize;
use std::collections::BTreeSet;

/// A two-sided interval on a proportion.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// `converted` of `leads`, its rate, the Wilson interval at the report's confidence and the
/// wider one at the simultaneous (Bonferroni-adjusted) confidence. Without leads the rate is
/// `None` and both intervals are `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    pub leads: u64,
    pub converted: u64,
    pub rate: Option<f64>,
    pub interval: Interval,
    pub simultaneous: Interval,
}

impl Rate {
    pub fn new(converted: u64, leads: u64, confidence: f64, simultaneous: f64) -> Rate {
        Rate {
            leads,
            converted,
            rate: (leads > 0).then(|| converted as f64 / leads as f64),
            interval: wilson(converted, leads, confidence),
            simultaneous: wilson(converted, leads, simultaneous),
        }
    }
}

/// A confidence level usable for an interval: within (0, 1), else the usual 0.95.
pub fn sane_confidence(confidence: f64) -> f64 {
    if confidence.is_finite() && confidence > 0.0 && confidence < 1.0 {
        confidence
    } else {
        0.95
    }
}

/// Bonferroni: each of `m` intervals at `1 - (1 - confidence) / m` holds jointly with
/// probability at least `confidence`.
pub fn bonferroni(confidence: f64, m: u64) -> f64 {
    let c = sane_confidence(confidence);
    1.0 - (1.0 - c) / m.max(1) as f64
}

/// The Wilson score interval for `k` successes in `n` trials at two-sided `confidence`.
pub fn wilson(k: u64, n: u64, confidence: f64) -> Interval {
    if n == 0 {
        return Interval {
            low: 0.0,
            high: 1.0,
        };
    }
    let k = k.min(n) as f64;
    let n = n as f64;
    let z = normal_quantile(1.0 - (1.0 - sane_confidence(confidence)) / 2.0);
    let p = k / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Interval {
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    }
}

/// The Katz log interval on a ratio of two rates, `k1/n1` over `k2/n2` (the lift), at
/// two-sided `confidence`. A zero count gets half a count on each side of both rates
/// (Haldane), so the interval stays finite. `None` without leads on either side.
pub fn ratio_interval(k1: u64, n1: u64, k2: u64, n2: u64, confidence: f64) -> Option<Interval> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (k1, k2) = (k1.min(n1) as f64, k2.min(n2) as f64);
    let (n1, n2) = (n1 as f64, n2 as f64);
    let (k1, n1, k2, n2) = if k1 == 0.0 || k2 == 0.0 {
        (k1 + 0.5, n1 + 1.0, k2 + 0.5, n2 + 1.0)
    } else {
        (k1, n1, k2, n2)
    };
    let z = normal_quantile(1.0 - (1.0 - sane_confidence(confidence)) / 2.0);
    let log_ratio = (k1 / n1).ln() - (k2 / n2).ln();
    let se = (1.0 / k1 - 1.0 / n1 + 1.0 / k2 - 1.0 / n2).max(0.0).sqrt();
    Some(Interval {
        low: (log_ratio - z * se).exp(),
        high: (log_ratio + z * se).exp(),
    })
}

/// The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The `q` quantile of sorted values, interpolated linearly between ranks (so the median of
/// an even count is the mean of the middle two). `None` when empty.
pub fn quantile(sorted: &[i64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let pos = q.clamp(0.0, 1.0) * last as f64;
    let below = pos.floor() as usize;
    let above = (below + 1).min(last);
    let low = *sorted.get(below)? as f64;
    let high = *sorted.get(above)? as f64;
    Some(low + (high - low) * (pos - below as f64))
}

/// Milliseconds as days.
pub fn days(ms: f64) -> f64 {
    ms / MILLIS_PER_DAY as f64
}

/// The UTC calendar month of a time, `YYYY-MM`.
pub fn month(at: Timestamp) -> String {
    // Howard Hinnant's civil-from-days.
    let z = at.millis().div_euclid(MILLIS_PER_DAY) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}")
}

/// The `cap` smallest items seen (by their order), and how many were seen: "the first 20"
/// of a list, the same whatever order the items come in.
#[derive(Debug, Clone)]
pub struct Smallest<T: Ord> {
    cap: usize,
    total: u64,
    items: BTreeSet<T>,
}

impl<T: Ord> Smallest<T> {
    pub fn new(cap: usize) -> Self {
        Smallest {
            cap,
            total: 0,
            items: BTreeSet::new(),
        }
    }
    pub fn push(&mut self, item: T) {
        self.total += 1;
        self.items.insert(item);
        if self.items.len() > self.cap {
            self.items.pop_last();
        }
    }
    pub fn total(&self) -> u64 {
        self.total
    }
    pub fn into_vec(self) -> Vec<T> {
        self.items.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() < tol
    }

    #[test]
    fn the_lift_interval_is_katz_and_covers_the_true_ratio() {
        // 20/100 against 10/100: a lift of 2, log standard error sqrt(0.13).
        let i = ratio_interval(20, 100, 10, 100, 0.95).unwrap();
        assert!(
            close(i.low, 0.9866, 1e-3) && close(i.high, 4.0543, 1e-3),
            "{i:?}"
        );
        assert!(ratio_interval(0, 0, 3, 10, 0.95).is_none());
        let zero = ratio_interval(0, 50, 10, 50, 0.95).unwrap();
        assert!(
            zero.low > 0.0 && zero.high.is_finite() && zero.high < 1.0,
            "{zero:?}"
        );

        // Coverage: rates 0.3 and 0.15 (lift 2), 150 leads a side, 2,000 draws.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut uniform = move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) as f64 / u64::MAX as f64
        };
        let mut draw = |p: f64, n: u64| (0..n).filter(|_| uniform() < p).count() as u64;
        let covered = (0..2_000)
            .filter(|_| {
                let (k1, k2) = (draw(0.3, 150), draw(0.15, 150));
                let i = ratio_interval(k1, 150, k2, 150, 0.95).unwrap();
                i.low <= 2.0 && 2.0 <= i.high
            })
            .count();
        assert!((1_860..=1_940).contains(&covered), "{covered} of 2000");
    }

    #[test]
    fn normal_quantiles_match_tables() {
        assert!(close(normal_quantile(0.975), 1.959_963_985, 1e-8));
        assert!(close(normal_quantile(0.5), 0.0, 1e-12));
        assert!(close(normal_quantile(0.005), -2.575_829_304, 1e-8));
        assert!(close(normal_quantile(0.999_75), 3.480_756_404, 1e-7));
    }

    #[test]
    fn wilson_matches_known_values() {
        // 0 of 10 at 95%: [0, 0.2775]; 5 of 10: [0.2366, 0.7634]; 10 of 10: [0.7225, 1].
        let i = wilson(0, 10, 0.95);
        assert!(
            close(i.low, 0.0, 1e-12) && close(i.high, 0.277_53, 1e-4),
            "{i:?}"
        );
        let i = wilson(5, 10, 0.95);
        assert!(
            close(i.low, 0.236_59, 1e-4) && close(i.high, 0.763_41, 1e-4),
            "{i:?}"
        );
        let i = wilson(10, 10, 0.95);
        assert!(
            close(i.low, 0.722_47, 1e-4) && close(i.high, 1.0, 1e-12),
            "{i:?}"
        );
        assert_eq!(
            wilson(0, 0, 0.95),
            Interval {
                low: 0.0,
                high: 1.0
            }
        );
        // Wider at a higher confidence.
        assert!(wilson(5, 10, bonferroni(0.95, 6)).low < i.low.min(0.236));
    }

    #[test]
    fn quantiles_interpolate() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[4], 0.9), Some(4.0));
        assert_eq!(quantile(&[1, 2, 3, 4], 0.5), Some(2.5));
        assert_eq!(
            quantile(&[0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9),
            Some(90.0)
        );
    }

    #[test]
    fn months_are_utc() {
        assert_eq!(month(Timestamp::from_millis(0)), "1970-01");
        // 2025-11-01T00:00:00Z and one millisecond before.
        assert_eq!(month(Timestamp::from_millis(1_761_955_200_000)), "2025-11");
        assert_eq!(month(Timestamp::from_millis(1_761_955_199_999)), "2025-10");
        assert_eq!(month(Timestamp::from_millis(951_782_400_000)), "2000-02"); // 2000-02-29
        assert_eq!(month(Timestamp::from_millis(-1)), "1969-12");
    }

    #[test]
    fn smallest_keeps_the_first_whatever_the_order() {
        let mut a = Smallest::new(2);
        let mut b = Smallest::new(2);
        for x in [5, 1, 4, 2] {
            a.push(x);
        }
        for x in [2, 4, 1, 5] {
            b.push(x);
        }
        assert_eq!((a.total(), a.into_vec()), (4, vec![1, 2]));
        assert_eq!(b.into_vec(), vec![1, 2]);
    }
}
