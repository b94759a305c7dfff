//! Reports of a stored run: an HTML page with one SVG chart per category, the
//! same tables in Markdown (for DOCS/PERF.md), a trend chart of one route over
//! runs, and JSON / CSV exports.

use plotters::prelude::*;
use serde_json::json;

use crate::analysis::{self, Group};
use crate::error::{BenchError, Result};
use crate::store::{Measurement, Run, Server, Skip};

/// Everything stored about one run.
#[derive(Debug, Clone)]
pub struct RunData {
    pub run: Run,
    pub servers: Vec<Server>,
    pub measurements: Vec<Measurement>,
    pub skips: Vec<Skip>,
}

impl RunData {
    fn server_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.servers.iter().map(|s| s.name.clone()).collect();
        for m in &self.measurements {
            if !names.contains(&m.server) {
                names.push(m.server.clone());
            }
        }
        names
    }

    fn categories(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for m in &self.measurements {
            if !out.contains(&m.category) {
                out.push(m.category.clone());
            }
        }
        out
    }
}

/// The chart's legend, in a box at `position`.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(chart_err)
}

fn chart_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Chart(e.to_string())
}

/// A grouped bar chart of one category: median req/s per route and server,
/// with the runs' min-max as a whisker.
pub fn category_svg(title: &str, groups: &[&Group], servers: &[String]) -> Result<String> {
    let mut routes: Vec<&str> = Vec::new();
    for g in groups {
        if !routes.contains(&g.route.as_str()) {
            routes.push(&g.route);
        }
    }
    let ymax = groups.iter().map(|g| g.summary().max).fold(1.0, f64::max) * 1.15;
    // Fits the report page (1200 px wide) whatever the number of bars.
    let width =
        (170 * routes.len() as u32 * servers.len().max(1) as u32 / 2).clamp(640, 1040) + 120;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let n = routes.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(80)
            .build_cartesian_2d(-0.5..n - 0.5, 0.0..ymax)
            .map_err(chart_err)?;
        let label_routes = routes.clone();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(routes.len() * 2 + 1)
            .x_label_formatter(&move |v: &f64| {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < label_routes.len() {
                    label_routes[i as usize].to_string()
                } else {
                    String::new()
                }
            })
            .y_desc("req/s (median of the runs)")
            .draw()
            .map_err(chart_err)?;
        let k = servers.len().max(1) as f64;
        let w = 0.8 / k;
        for (si, server) in servers.iter().enumerate() {
            let color = Palette99::pick(si).to_rgba();
            let mine: Vec<(f64, &Group)> = groups
                .iter()
                .filter(|g| &g.server == server)
                .filter_map(|g| {
                    let ri = routes.iter().position(|r| *r == g.route)?;
                    Some((ri as f64 - 0.4 + w * si as f64, *g))
                })
                .collect();
            if mine.is_empty() {
                continue;
            }
            chart
                .draw_series(mine.iter().map(|(x, g)| {
                    Rectangle::new(
                        [(*x, 0.0), (x + w * 0.9, g.summary().median)],
                        color.filled(),
                    )
                }))
                .map_err(chart_err)?
                .label(server.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
            chart
                .draw_series(mine.iter().map(|(x, g)| {
                    let s = g.summary();
                    let mid = x + w * 0.45;
                    PathElement::new(vec![(mid, s.min), (mid, s.max)], BLACK.stroke_width(1))
                }))
                .map_err(chart_err)?;
            chart
                .draw_series(mine.iter().map(|(x, g)| {
                    let s = g.summary();
                    let flag = if g.flagged() { " !" } else { "" };
                    Text::new(
                        format!("{}{flag}", short(s.median)),
                        (*x, s.max + ymax * 0.01),
                        ("sans-serif", 11),
                    )
                }))
                .map_err(chart_err)?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present().map_err(chart_err)?;
    }
    Ok(svg)
}

fn short(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1}k", v / 1000.0)
    } else {
        format!("{v:.0}")
    }
}

/// A line chart of a route's median req/s over runs, one line per server.
pub fn trend_svg(route: &str, points: &[(String, Vec<(i64, f64)>)]) -> Result<String> {
    let all: Vec<f64> = points
        .iter()
        .flat_map(|(_, p)| p.iter().map(|x| x.1))
        .collect();
    let ids: Vec<i64> = points
        .iter()
        .flat_map(|(_, p)| p.iter().map(|x| x.0))
        .collect();
    let (lo, hi) = (
        ids.iter().copied().min().unwrap_or(0),
        ids.iter().copied().max().unwrap_or(1),
    );
    let ymax = all.iter().copied().fold(1.0, f64::max) * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("{route}: req/s over runs"), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(80)
            .build_cartesian_2d(lo as f64 - 0.5..hi as f64 + 0.5, 0.0..ymax)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .x_desc("run")
            .y_desc("req/s (median of the runs)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(chart_err)?;
        for (i, (server, pts)) in points.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let line: Vec<(f64, f64)> = pts.iter().map(|(id, v)| (*id as f64, *v)).collect();
            chart
                .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))
                .map_err(chart_err)?
                .label(server.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2))
                });
            chart
                .draw_series(line.iter().map(|p| Circle::new(*p, 3, color.filled())))
                .map_err(chart_err)?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::MiddleRight)?;
        root.present().map_err(chart_err)?;
    }
    Ok(svg)
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2}"))
}

fn thousands(v: f64) -> String {
    let s = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

/// One cell of a route's table: median req/s and the runs' range, req/s
/// per server core, latency (medians over the runs), peak RSS, errors.
fn cell(g: &Group) -> String {
    let s = g.summary();
    let mut c = format!("{} req/s", thousands(s.median));
    if s.n > 1 {
        c.push_str(&format!(" [{}-{}]", thousands(s.min), thousands(s.max)));
    }
    if let Some(core) = g.summary_of(|m| m.rps_per_core) {
        c.push_str(&format!(", {} per core", thousands(core.median)));
    }
    if g.runs.iter().any(|m| m.p50_ms.is_some()) {
        let p = |f: fn(&Measurement) -> Option<f64>| ms(g.summary_of(f).map(|s| s.median));
        c.push_str(&format!(
            ", p50/p99/p99.9/max {}/{}/{}/{} ms",
            p(|m| m.p50_ms),
            p(|m| m.p99_ms),
            p(|m| m.p999_ms),
            p(|m| m.max_ms)
        ));
    }
    if let Some(peak) = g.summary_of(|m| m.peak_rss_kb.map(|k| k as f64)) {
        c.push_str(&format!(", RSS {:.1} MB", peak.max / 1024.0));
    }
    let (sock, http) = g.errors();
    if sock > 0 || http > 0 {
        c.push_str(&format!(
            ", **FLAGGED: {sock} socket errors, {http} responses >= 400**"
        ));
    }
    c
}

/// The run's settings and machine, one line.
fn describe(run: &Run) -> String {
    if run.reference {
        return format!(
            "Run {} (reference): {}",
            run.id,
            run.notes.clone().unwrap_or_default()
        );
    }
    let settings: serde_json::Value = serde_json::from_str(&run.settings).unwrap_or_default();
    format!(
        "Run {} of {} (commit {}{}, branch {}; {} build, {}): {} cores ({}), kernel {}, load average before {}; \
         server on CPU {}, wrk on CPU {} (1 thread, {} connections), {} s warm-up, {} runs of {} s per route and server \
         (a cell: median req/s [the runs' range], req/s per second of server CPU time, latency medians, peak RSS); \
         cold start median of {}.{}",
        run.id,
        run.started_at,
        run.git_commit.as_deref().map_or("?", |c| &c[..c.len().min(10)]),
        if run.git_dirty == Some(true) { ", dirty" } else { "" },
        run.git_branch.as_deref().unwrap_or("?"),
        run.build_profile.as_deref().unwrap_or("?"),
        run.hbf_version.as_deref().unwrap_or("?"),
        run.cores.map_or("?".into(), |c| c.to_string()),
        run.cpu_model.as_deref().unwrap_or("?"),
        run.kernel.as_deref().unwrap_or("?"),
        run.load_avg.as_deref().unwrap_or("?"),
        settings["server_cpu"],
        settings["client_cpu"],
        settings["connections"]
            .as_array()
            .map(|a| a.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "))
            .unwrap_or_default(),
        settings["warmup_s"],
        settings["runs"],
        settings["duration_s"],
        settings["cold_starts"],
        run.notes.as_deref().map_or(String::new(), |n| format!(" Notes: {n}")),
    )
}

/// The tables of a run in Markdown: one per category (routes x servers),
/// then cold start and memory per server, then what was skipped.
pub fn markdown(data: &RunData) -> String {
    let servers = data.server_names();
    let groups = analysis::groups(&data.measurements);
    let mut out = format!("{}\n", describe(&data.run));
    for category in data.categories() {
        let mine: Vec<&Group> = groups.iter().filter(|g| g.category == category).collect();
        let cols: Vec<&String> = servers
            .iter()
            .filter(|s| mine.iter().any(|g| &g.server == *s))
            .collect();
        out.push_str(&format!(
            "\n**{category}**\n\n| route | {} |\n|---|{}\n",
            cols.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(" | "),
            "---|".repeat(cols.len())
        ));
        let mut keys: Vec<(String, i64)> = Vec::new();
        for g in &mine {
            if !keys.contains(&(g.route.clone(), g.connections)) {
                keys.push((g.route.clone(), g.connections));
            }
        }
        for (route, conns) in keys {
            let cells: Vec<String> = cols
                .iter()
                .map(|s| {
                    mine.iter()
                        .find(|g| g.route == route && g.connections == conns && &&g.server == s)
                        .map_or("-".into(), |g| cell(g))
                })
                .collect();
            out.push_str(&format!(
                "| `{route}` (c={conns}) | {} |\n",
                cells.join(" | ")
            ));
        }
    }
    if data
        .servers
        .iter()
        .any(|s| s.cold_start_ms.is_some() || s.idle_rss_kb.is_some())
    {
        out.push_str("\n| server | version | cold start to first 200 (median) | idle RSS |\n|---|---|---|---|\n");
        for s in &data.servers {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                s.name,
                s.version.as_deref().unwrap_or("-"),
                s.cold_start_ms.map_or("-".into(), |v| format!("{v:.1} ms")),
                s.idle_rss_kb
                    .map_or("-".into(), |v| format!("{:.1} MB", v as f64 / 1024.0)),
            ));
        }
    }
    if !data.skips.is_empty() {
        out.push_str("\nNot measured:\n\n");
        for s in &data.skips {
            out.push_str(&format!(
                "* `{}`, {}{}: {}\n",
                s.server,
                s.category,
                s.route
                    .as_deref()
                    .map_or(String::new(), |r| format!(" `{r}`")),
                s.reason
            ));
        }
    }
    out
}

/// One HTML page: the run's description, per category an SVG chart and its
/// table, then servers and skips.
pub fn html(data: &RunData) -> Result<String> {
    let servers = data.server_names();
    let groups = analysis::groups(&data.measurements);
    let mut body = format!("<p>{}</p>\n", escape(&describe(&data.run)));
    for category in data.categories() {
        let mine: Vec<&Group> = groups.iter().filter(|g| g.category == category).collect();
        let cols: Vec<String> = servers
            .iter()
            .filter(|s| mine.iter().any(|g| &g.server == *s))
            .cloned()
            .collect();
        body.push_str(&format!("<h2>{}</h2>\n", escape(&category)));
        body.push_str(&category_svg(&format!("{category}: req/s"), &mine, &cols)?);
        body.push_str("\n<table><tr><th>route</th>");
        for c in &cols {
            body.push_str(&format!("<th>{}</th>", escape(c)));
        }
        body.push_str("</tr>\n");
        let mut keys: Vec<(String, i64)> = Vec::new();
        for g in &mine {
            if !keys.contains(&(g.route.clone(), g.connections)) {
                keys.push((g.route.clone(), g.connections));
            }
        }
        for (route, conns) in keys {
            body.push_str(&format!("<tr><td>{} (c={conns})</td>", escape(&route)));
            for c in &cols {
                let g = mine
                    .iter()
                    .find(|g| g.route == route && g.connections == conns && &g.server == c);
                let class = if g.is_some_and(|g| g.flagged()) {
                    " class=\"flagged\""
                } else {
                    ""
                };
                body.push_str(&format!(
                    "<td{class}>{}</td>",
                    g.map_or("-".into(), |g| escape(&cell(g).replace("**", "")))
                ));
            }
            body.push_str("</tr>\n");
        }
        body.push_str("</table>\n");
    }
    body.push_str("<h2>servers</h2>\n<table><tr><th>server</th><th>version</th><th>command</th><th>cold start (median)</th><th>idle RSS</th></tr>\n");
    for s in &data.servers {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>\n",
            escape(&s.name),
            escape(s.version.as_deref().unwrap_or("-")),
            escape(&s.command),
            s.cold_start_ms.map_or("-".into(), |v| format!("{v:.1} ms")),
            s.idle_rss_kb
                .map_or("-".into(), |v| format!("{:.1} MB", v as f64 / 1024.0)),
        ));
    }
    body.push_str("</table>\n");
    if !data.skips.is_empty() {
        body.push_str("<h2>not measured</h2>\n<ul>\n");
        for s in &data.skips {
            body.push_str(&format!(
                "<li>{}, {} {}: {}</li>\n",
                escape(&s.server),
                escape(&s.category),
                escape(s.route.as_deref().unwrap_or("")),
                escape(&s.reason)
            ));
        }
        body.push_str("</ul>\n");
    }
    Ok(format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>hbf-bench run {}</title>\n<style>\
         body{{font-family:sans-serif;max-width:1200px;margin:2em auto}}table{{border-collapse:collapse;margin:1em 0}}\
         td,th{{border:1px solid #ccc;padding:4px 8px;font-size:13px;text-align:left}}.flagged{{background:#fdd}}\
         </style></head><body>\n<h1>hbf-bench run {}</h1>\n{body}</body></html>\n",
        data.run.id, data.run.id
    ))
}

/// The run as one JSON document.
pub fn export_json(data: &RunData) -> Result<String> {
    Ok(serde_json::to_string_pretty(&json!({
        "run": data.run,
        "servers": data.servers,
        "measurements": data.measurements,
        "skipped": data.skips,
    }))?)
}

/// The run's measurements as CSV, one row per repetition.
pub fn export_csv(data: &RunData) -> String {
    let mut out = String::from(
        "run_id,server,category,route,connections,repetition,duration_s,requests,rps,cpu_s,rps_per_core,\
         p50_ms,p90_ms,p99_ms,p999_ms,max_ms,socket_errors,status_errors,peak_rss_kb\n",
    );
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for m in &data.measurements {
        let fields = [
            data.run.id.to_string(),
            csv_field(&m.server),
            csv_field(&m.category),
            csv_field(&m.route),
            m.connections.to_string(),
            m.repetition.to_string(),
            m.duration_s.to_string(),
            m.requests.to_string(),
            m.rps.to_string(),
            opt(m.cpu_s),
            opt(m.rps_per_core),
            opt(m.p50_ms),
            opt(m.p90_ms),
            opt(m.p99_ms),
            opt(m.p999_ms),
            opt(m.max_ms),
            m.socket_errors.to_string(),
            m.status_errors.to_string(),
            m.peak_rss_kb.map_or(String::new(), |v| v.to_string()),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// RFC 4180 quoting where needed.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn data() -> RunData {
        let store = Store::open_in_memory().unwrap();
        let id = store.reference_id().unwrap();
        RunData {
            run: store.run(id).unwrap(),
            servers: store.servers(id).unwrap(),
            measurements: store.measurements(id).unwrap(),
            skips: vec![Skip {
                server: "C99 HBF".into(),
                category: "blocks".into(),
                route: Some("GET /block/<hash>".into()),
                reason: "none".into(),
            }],
        }
    }

    #[test]
    fn the_html_page_has_a_chart_per_category_with_its_routes() {
        let d = data();
        let page = html(&d).unwrap();
        assert_eq!(page.matches("<svg").count(), 3, "static, runtime, fs");
        for route in ["GET /hello", "GET /static/style.css", "PUT /__dev/api/file"] {
            let svgs: Vec<&str> = page.split("<svg").skip(1).collect();
            assert!(svgs.iter().any(|s| s.contains(route)), "{route} in a chart");
        }
        assert!(page.contains("GET /block/&lt;hash&gt;"));
        assert!(!page.contains("<hash>"));
    }

    #[test]
    fn markdown_has_a_row_per_route_and_the_range_of_the_runs() {
        let md = markdown(&data());
        assert!(
            md.contains("| `GET /hello` (c=10) | 232 req/s [210-255] |"),
            "{md}"
        );
        assert!(md.contains("**static**"));
        assert!(md.contains("Not measured"));
    }

    #[test]
    fn exports_carry_every_measurement() {
        let d = data();
        let csv = export_csv(&d);
        assert_eq!(csv.lines().count(), 1 + d.measurements.len());
        assert!(csv.contains(",GET /user/42,10,2,"));
        let v: serde_json::Value = serde_json::from_str(&export_json(&d).unwrap()).unwrap();
        assert_eq!(
            v["measurements"].as_array().unwrap().len(),
            d.measurements.len()
        );
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(thousands(1234567.0), "1,234,567");
    }

    #[test]
    fn the_trend_chart_names_the_route_and_servers() {
        let svg = trend_svg(
            "GET /hello",
            &[("hbf".into(), vec![(2, 100.0), (3, 120.0)])],
        )
        .unwrap();
        assert!(svg.contains("GET /hello") && svg.contains("hbf"));
    }
}
