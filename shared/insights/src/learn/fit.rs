//! L2-regularised logistic regression by Newton's method, and the measures of a score: AUC
//! and calibration.

// Matrix algebra reads best with indices.
#![allow(clippy::needless_range_loop)]

use super::CalibrationBin;

pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// A fitted model: the intercept, one coefficient per column, and their standard errors
/// (from the penalised Hessian at the optimum).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fitted {
    pub intercept: f64,
    pub coefficients: Vec<f64>,
    pub std_errors: Vec<f64>,
}

impl Fitted {
    pub fn predict(&self, row: &[f64]) -> f64 {
        let eta = self.intercept
            + row
                .iter()
                .zip(&self.coefficients)
                .map(|(x, b)| x * b)
                .sum::<f64>();
        sigmoid(eta)
    }
}

/// Maximises the log-likelihood minus `l2 / 2 * |coefficients|^2` (the intercept is not
/// penalised). Newton steps, halved while they do not improve the objective.
pub(crate) fn logistic(x: &[Vec<f64>], y: &[bool], l2: f64) -> Result<Fitted, String> {
    let k = x.first().map_or(0, Vec::len) + 1;
    if x.is_empty() || x.len() != y.len() || x.iter().any(|r| r.len() + 1 != k) {
        return Err("no examples, or rows of different lengths".into());
    }
    let row = |i: usize, j: usize| if j == 0 { 1.0 } else { x[i][j - 1] };
    let objective = |theta: &[f64]| -> f64 {
        let mut ll = 0.0;
        for (i, yi) in y.iter().enumerate() {
            let eta: f64 = (0..k).map(|j| theta[j] * row(i, j)).sum();
            // log(1 + e^eta), stable on both sides.
            let softplus = eta.max(0.0) + (-eta.abs()).exp().ln_1p();
            ll += if *yi { eta - softplus } else { -softplus };
        }
        ll - 0.5 * l2 * theta[1..].iter().map(|b| b * b).sum::<f64>()
    };
    // Start from the base rate: the intercept alone.
    let positives = y.iter().filter(|v| **v).count() as f64;
    let base = (positives + 0.5) / (y.len() as f64 + 1.0);
    let mut theta = vec![0.0; k];
    theta[0] = (base / (1.0 - base)).ln();
    let mut current = objective(&theta);
    let mut hessian = vec![vec![0.0; k]; k];
    for _ in 0..100 {
        let mut gradient = vec![0.0; k];
        for h in hessian.iter_mut() {
            h.fill(0.0);
        }
        for (i, yi) in y.iter().enumerate() {
            let eta: f64 = (0..k).map(|j| theta[j] * row(i, j)).sum();
            let p = sigmoid(eta);
            let w = p * (1.0 - p);
            let residual = f64::from(u8::from(*yi)) - p;
            for a in 0..k {
                let xa = row(i, a);
                if xa == 0.0 {
                    continue;
                }
                gradient[a] += residual * xa;
                for b in 0..=a {
                    hessian[a][b] += w * xa * row(i, b);
                }
            }
        }
        for a in 0..k {
            for b in 0..a {
                hessian[b][a] = hessian[a][b];
            }
            if a > 0 {
                gradient[a] -= l2 * theta[a];
                hessian[a][a] += l2;
            }
        }
        let step = solve(&hessian, &gradient)
            .ok_or("the features are collinear (a signal duplicates another): raise l2")?;
        let mut scale = 1.0;
        let mut next: Vec<f64>;
        loop {
            next = theta
                .iter()
                .zip(&step)
                .map(|(t, s)| t + scale * s)
                .collect();
            let value = objective(&next);
            if value >= current - 1e-12 || scale < 1e-6 {
                current = value;
                break;
            }
            scale *= 0.5;
        }
        let moved = theta
            .iter()
            .zip(&next)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        theta = next;
        if !theta.iter().all(|t| t.is_finite()) {
            return Err(
                "the coefficients diverged (a signal separates the outcomes): raise l2".into(),
            );
        }
        if moved < 1e-9 {
            let std_errors = (1..k)
                .map(|j| {
                    let mut unit = vec![0.0; k];
                    unit[j] = 1.0;
                    solve(&hessian, &unit).map_or(f64::NAN, |col| col[j].max(0.0).sqrt())
                })
                .collect();
            return Ok(Fitted {
                intercept: theta[0],
                coefficients: theta[1..].to_vec(),
                std_errors,
            });
        }
    }
    Err("did not converge in 100 Newton steps (the outcomes are separable): raise l2".into())
}

/// Solves `a x = b` for a symmetric positive definite `a` (Cholesky). None if it is not.
fn solve(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let sum: f64 = (0..j).map(|m| l[i][m] * l[j][m]).sum();
            if i == j {
                let d = a[i][i] - sum;
                if d <= 1e-12 * a[i][i].abs().max(1.0) {
                    return None;
                }
                l[i][j] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - sum) / l[j][j];
            }
        }
    }
    let mut z = vec![0.0; n];
    for i in 0..n {
        z[i] = (b[i] - (0..i).map(|m| l[i][m] * z[m]).sum::<f64>()) / l[i][i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (z[i] - (i + 1..n).map(|m| l[m][i] * x[m]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}

/// The probability that a random converted example scores above a random other one (ties
/// count half): the Mann-Whitney statistic. None without both outcomes.
pub(crate) fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    let positives = labels.iter().filter(|l| **l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    // Sum of the positives' ranks, ties sharing their mean rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mean_rank * order[i..=j].iter().filter(|o| labels[**o]).count() as f64;
        i = j + 1;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// Examples sorted by score, cut into `bins` bins of (nearly) equal size: the mean predicted
/// and the observed conversion of each.
pub(crate) fn calibration(scores: &[f64], labels: &[bool], bins: usize) -> Vec<CalibrationBin> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    let n = order.len();
    let bins = bins.min(n).max(1);
    (0..bins)
        .filter_map(|b| {
            let part = &order[b * n / bins..(b + 1) * n / bins];
            let first = *part.first()?;
            let last = *part.last()?;
            let len = part.len() as f64;
            Some(CalibrationBin {
                examples: part.len(),
                predicted_from: scores[first],
                predicted_to: scores[last],
                predicted: part.iter().map(|i| scores[*i]).sum::<f64>() / len,
                observed: part.iter().filter(|i| labels[**i]).count() as f64 / len,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_half_and_needs_both_outcomes() {
        assert_eq!(
            auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            Some(0.75)
        );
        assert_eq!(auc(&[0.5, 0.5], &[false, true]), Some(0.5));
        assert_eq!(auc(&[0.5, 0.7], &[true, true]), None);
    }

    #[test]
    fn logistic_recovers_a_known_log_odds() {
        // 200 shown (150 converted), 800 not shown (200 converted): the exact MLE.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..1000 {
            let shown = i < 200;
            x.push(vec![if shown { 1.0 } else { 0.0 }]);
            y.push(if shown { i < 150 } else { i < 400 });
        }
        let f = logistic(&x, &y, 0.0).unwrap();
        assert!((f.intercept - (200.0f64 / 600.0).ln()).abs() < 1e-6);
        assert!((f.coefficients[0] - (3.0f64.ln() - (200.0f64 / 600.0).ln())).abs() < 1e-6);
        // Standard error of a log odds ratio: sqrt(1/a + 1/b + 1/c + 1/d).
        let se = (1.0 / 150.0 + 1.0 / 50.0 + 1.0 / 200.0 + 1.0 / 600.0f64).sqrt();
        assert!((f.std_errors[0] - se).abs() < 1e-6);
        // A penalty shrinks it.
        assert!(logistic(&x, &y, 50.0).unwrap().coefficients[0] < f.coefficients[0]);
    }

    #[test]
    fn calibration_bins_are_equal_and_sorted() {
        let scores: Vec<f64> = (0..100).map(|i| f64::from(i) / 100.0).collect();
        let labels: Vec<bool> = (0..100).map(|i| i % 2 == 0).collect();
        let bins = calibration(&scores, &labels, 10);
        assert_eq!(bins.len(), 10);
        assert!(bins.iter().all(|b| b.examples == 10 && b.observed == 0.5));
        assert!(bins.windows(2).all(|w| w[0].predicted < w[1].predicted));
    }
}
