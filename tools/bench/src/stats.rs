//! Statistics over the runs of one route: summaries and Welch's t-test.
//!
//! A route is measured `--runs` times; the runs' req/s are the samples. Two
//! routes (two servers, or two benchmark runs of one server) differ beyond the
//! noise when Welch's unequal-variance t-test rejects equal means at
//! [`ALPHA`]. Welch's rather than Student's test because two servers, or one
//! server on two days, have no reason to share a variance.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Significance level of [`welch`]'s verdict.
pub const ALPHA: f64 = 0.05;

/// Mean, sample standard deviation, median, minimum and maximum of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    pub stddev: f64,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// The summary of `samples`, or `None` for none.
pub fn summarize(samples: &[f64]) -> Option<Summary> {
    if samples.is_empty() {
        return None;
    }
    let n = samples.len();
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mean = sorted.iter().sum::<f64>() / n as f64;
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Some(Summary {
        n,
        mean,
        stddev: variance(&sorted, mean).sqrt(),
        median,
        min: sorted[0],
        max: sorted[n - 1],
    })
}

/// Unbiased sample variance (n - 1); 0 for a single sample.
fn variance(samples: &[f64], mean: f64) -> f64 {
    if samples.len() < 2 {
        return 0.0;
    }
    samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (samples.len() - 1) as f64
}

/// The outcome of Welch's t-test of `b` against `a`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    /// t statistic of mean(b) - mean(a).
    pub t: f64,
    /// Welch-Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
}

impl Welch {
    /// Whether the means differ beyond the noise (p < [`ALPHA`]).
    pub fn significant(&self) -> bool {
        self.p < ALPHA
    }
}

/// Welch's two-sided t-test of `b` against `a`; `None` when either side has
/// fewer than two samples (no variance to judge the noise by).
pub fn welch(a: &[f64], b: &[f64]) -> Option<Welch> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (ma, mb) = (mean(a), mean(b));
    let (va, vb) = (variance(a, ma) / na, variance(b, mb) / nb);
    let se2 = va + vb;
    if se2 == 0.0 {
        // Both sides constant: any difference is beyond their (zero) noise.
        let differ = ma != mb;
        return Some(Welch {
            t: if differ {
                f64::INFINITY.copysign(mb - ma)
            } else {
                0.0
            },
            df: na + nb - 2.0,
            p: if differ { 0.0 } else { 1.0 },
        });
    }
    let t = (mb - ma) / se2.sqrt();
    let df = se2 * se2 / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    let p = 2.0 * (1.0 - dist.cdf(t.abs()));
    Some(Welch {
        t,
        df,
        p: p.clamp(0.0, 1.0),
    })
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_odd_and_even_counts() {
        let s = summarize(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.n, s.median, s.min, s.max), (3, 2.0, 1.0, 3.0));
        assert!((s.mean - 2.0).abs() < 1e-12);
        assert!((s.stddev - 1.0).abs() < 1e-12);
        let s = summarize(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert!(summarize(&[]).is_none());
        assert_eq!(summarize(&[5.0]).unwrap().stddev, 0.0);
    }

    /// Wikipedia's "Welch's t-test", example 1 (unequal variances): t = -2.46,
    /// df = 25.0, p = 0.021 (the sign here is b - a).
    #[test]
    fn welch_matches_the_published_example() {
        let a = [
            27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7,
            21.4,
        ];
        let b = [
            27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5,
            24.4,
        ];
        let w = welch(&a, &b).unwrap();
        assert!((w.t - 2.46).abs() < 0.01, "t = {}", w.t);
        assert!((w.df - 24.99).abs() < 0.05, "df = {}", w.df);
        assert!((w.p - 0.021).abs() < 0.001, "p = {}", w.p);
        assert!(w.significant());
        let back = welch(&b, &a).unwrap();
        assert!((back.t + w.t).abs() < 1e-12 && (back.p - w.p).abs() < 1e-12);
    }

    #[test]
    fn overlapping_noisy_samples_are_not_significant() {
        let w = welch(&[100.0, 120.0, 90.0], &[105.0, 95.0, 115.0]).unwrap();
        assert!(!w.significant(), "{w:?}");
        assert!(w.p > 0.5);
    }

    #[test]
    fn welch_needs_two_samples_each_and_handles_zero_variance() {
        assert!(welch(&[1.0], &[1.0, 2.0]).is_none());
        let same = welch(&[5.0, 5.0], &[5.0, 5.0]).unwrap();
        assert!(!same.significant());
        let apart = welch(&[5.0, 5.0], &[6.0, 6.0]).unwrap();
        assert!(apart.significant() && apart.t > 0.0);
    }
}
