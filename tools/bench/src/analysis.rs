//! Grouping a run's measurements (the repetitions of one route on one server
//! are one group's samples), and `compare` / `check` between two runs.

use crate::stats::{self, Summary, Welch};
use crate::store::Measurement;

/// The repetitions of one route on one server at one connection count.
#[derive(Debug, Clone)]
pub struct Group {
    pub category: String,
    pub route: String,
    pub server: String,
    pub connections: i64,
    pub runs: Vec<Measurement>,
}

impl Group {
    /// The runs' req/s.
    pub fn rps(&self) -> Vec<f64> {
        self.runs.iter().map(|m| m.rps).collect()
    }

    /// Summary of the runs' req/s.
    pub fn summary(&self) -> Summary {
        stats::summarize(&self.rps()).expect("a group has at least one run")
    }

    /// Summary of another per-run figure, over the runs that have it.
    pub fn summary_of(&self, f: impl Fn(&Measurement) -> Option<f64>) -> Option<Summary> {
        stats::summarize(&self.runs.iter().filter_map(f).collect::<Vec<_>>())
    }

    /// Errors in all runs: (socket errors, responses >= 400).
    pub fn errors(&self) -> (i64, i64) {
        self.runs.iter().fold((0, 0), |(s, h), m| {
            (s + m.socket_errors, h + m.status_errors)
        })
    }

    /// Whether any run saw an error.
    pub fn flagged(&self) -> bool {
        self.runs.iter().any(Measurement::has_errors)
    }
}

/// Groups measurements, in the order each group was first measured.
pub fn groups(ms: &[Measurement]) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for m in ms {
        match out.iter_mut().find(|g| {
            g.route == m.route
                && g.server == m.server
                && g.connections == m.connections
                && g.category == m.category
        }) {
            Some(g) => g.runs.push(m.clone()),
            None => out.push(Group {
                category: m.category.clone(),
                route: m.route.clone(),
                server: m.server.clone(),
                connections: m.connections,
                runs: vec![m.clone()],
            }),
        }
    }
    out
}

/// One route of `compare A B`.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub category: String,
    pub route: String,
    pub server_a: String,
    pub server_b: String,
    pub connections_a: i64,
    pub connections_b: i64,
    pub a: Summary,
    pub b: Summary,
    /// mean(B) / mean(A).
    pub ratio: f64,
    /// Welch's t-test of B's runs against A's; `None` with fewer than two runs on a side.
    pub welch: Option<Welch>,
    /// B's runs saw errors.
    pub b_flagged: bool,
}

impl Comparison {
    /// "faster", "slower", "within noise" or "no test (1 run)".
    pub fn verdict(&self) -> &'static str {
        match self.welch {
            None => "no test (fewer than 2 runs)",
            Some(w) if !w.significant() => "within noise",
            Some(_) if self.ratio > 1.0 => "faster",
            Some(_) => "slower",
        }
    }
}

/// Compares run B's groups with run A's: a server of B against the server of
/// the same name in A, or against A's only server when A has one (the
/// reference run); a route at B's connection count, or at A's only one.
pub fn compare(a: &[Measurement], b: &[Measurement]) -> Vec<Comparison> {
    let (ga, gb) = (groups(a), groups(b));
    let a_servers: Vec<&str> = {
        let mut v: Vec<&str> = ga.iter().map(|g| g.server.as_str()).collect();
        v.dedup();
        v.sort();
        v.dedup();
        v
    };
    let mut out = Vec::new();
    for g in &gb {
        let server_a = if a_servers.contains(&g.server.as_str()) {
            g.server.as_str()
        } else if a_servers.len() == 1 {
            a_servers[0]
        } else {
            continue;
        };
        let candidates: Vec<&Group> = ga
            .iter()
            .filter(|x| x.route == g.route && x.server == server_a && x.category == g.category)
            .collect();
        let other = candidates
            .iter()
            .find(|x| x.connections == g.connections)
            .or_else(|| (candidates.len() == 1).then(|| &candidates[0]));
        let Some(other) = other else { continue };
        let (sa, sb) = (other.summary(), g.summary());
        out.push(Comparison {
            category: g.category.clone(),
            route: g.route.clone(),
            server_a: server_a.to_string(),
            server_b: g.server.clone(),
            connections_a: other.connections,
            connections_b: g.connections,
            a: sa,
            b: sb,
            ratio: if sa.mean > 0.0 {
                sb.mean / sa.mean
            } else {
                f64::NAN
            },
            welch: stats::welch(&other.rps(), &g.rps()),
            b_flagged: g.flagged(),
        });
    }
    out
}

/// The routes of `cmp` that fail `check`: slower by more than `max_regression`
/// (a fraction) and beyond the noise (or with no test possible, slower by more
/// than it at all), or measured with errors.
pub fn regressions(cmp: &[Comparison], max_regression: f64) -> Vec<String> {
    let mut out = Vec::new();
    for c in cmp {
        let what = format!("{} on {} (against {})", c.route, c.server_b, c.server_a);
        if c.b_flagged {
            out.push(format!("{what}: measured with errors"));
        }
        if c.ratio < 1.0 - max_regression {
            match c.welch {
                Some(w) if w.significant() => out.push(format!(
                    "{what}: {:.2}x, {:.0} against {:.0} req/s, beyond the noise (Welch p = {:.4})",
                    c.ratio, c.b.mean, c.a.mean, w.p
                )),
                Some(_) => {}
                None => out.push(format!(
                    "{what}: {:.2}x, {:.0} against {:.0} req/s (no t-test: fewer than 2 runs on a side)",
                    c.ratio, c.b.mean, c.a.mean
                )),
            }
        }
    }
    out
}

/// `compare`'s table, in Markdown.
pub fn compare_table(cmp: &[Comparison], a: i64, b: i64) -> String {
    let mut s = format!(
        "Run {b} against run {a}: ratio of mean req/s (B / A); Welch's two-sided t-test over the \
         runs' req/s, beyond the noise when p < {}.\n\n\
         | route | server A -> B | A req/s (mean ± sd, n) | B req/s (mean ± sd, n) | ratio | Welch p | verdict |\n\
         |---|---|---|---|---|---|---|\n",
        stats::ALPHA
    );
    for c in cmp {
        let conns = if c.connections_a == c.connections_b {
            format!("c={}", c.connections_b)
        } else {
            format!("c={} -> {}", c.connections_a, c.connections_b)
        };
        s.push_str(&format!(
            "| {} ({conns}) | {} -> {} | {:.0} ± {:.0}, {} | {:.0} ± {:.0}, {} | {:.2}x | {} | {}{} |\n",
            c.route,
            c.server_a,
            c.server_b,
            c.a.mean,
            c.a.stddev,
            c.a.n,
            c.b.mean,
            c.b.stddev,
            c.b.n,
            c.ratio,
            c.welch.map_or("-".to_string(), |w| format!("{:.4}", w.p)),
            c.verdict(),
            if c.b_flagged { ", B FLAGGED: errors" } else { "" }
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(server: &str, route: &str, rep: i64, rps: f64, errors: i64) -> Measurement {
        Measurement {
            connections: 50,
            duration_s: 1.0,
            requests: rps as i64,
            status_errors: errors,
            ..Measurement::of_rps(server, "runtime", route, rep, rps)
        }
    }

    #[test]
    fn groups_keep_the_order_of_measurement() {
        let ms = [
            m("hbf", "/a", 1, 1.0, 0),
            m("node", "/a", 1, 2.0, 0),
            m("hbf", "/a", 2, 3.0, 0),
        ];
        let g = groups(&ms);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].rps(), vec![1.0, 3.0]);
        assert_eq!(g[1].server, "node");
    }

    #[test]
    fn a_clear_regression_fails_the_check_and_noise_does_not() {
        let a = [
            m("hbf", "/a", 1, 1000.0, 0),
            m("hbf", "/a", 2, 1010.0, 0),
            m("hbf", "/b", 1, 500.0, 0),
            m("hbf", "/b", 2, 700.0, 0),
        ];
        let b = [
            m("hbf", "/a", 1, 800.0, 0),
            m("hbf", "/a", 2, 805.0, 0),
            m("hbf", "/b", 1, 400.0, 0),
            m("hbf", "/b", 2, 720.0, 0),
        ];
        let cmp = compare(&a, &b);
        assert_eq!(cmp.len(), 2);
        assert_eq!(cmp[0].verdict(), "slower");
        assert_eq!(cmp[1].verdict(), "within noise");
        let r = regressions(&cmp, 0.10);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].contains("/a on hbf"), "{r:?}");
        // 20% slower passes a 25% allowance.
        assert!(regressions(&cmp, 0.25).is_empty());
    }

    #[test]
    fn errors_fail_the_check_and_a_single_server_baseline_is_matched() {
        let a = [
            m("C99 HBF", "/a", 1, 200.0, 0),
            m("C99 HBF", "/a", 2, 250.0, 0),
        ];
        let b = [m("hbf", "/a", 1, 40000.0, 0), m("hbf", "/a", 2, 41000.0, 3)];
        let cmp = compare(&a, &b);
        assert_eq!(cmp[0].server_a, "C99 HBF");
        assert_eq!(cmp[0].verdict(), "faster");
        let r = regressions(&cmp, 0.10);
        assert_eq!(
            r,
            vec!["/a on hbf (against C99 HBF): measured with errors".to_string()]
        );
        assert!(compare_table(&cmp, 1, 2).contains("B FLAGGED"));
    }
}
