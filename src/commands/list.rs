use super::Ctx;
use crate::error::Result;

/// List the installed plugins (from the manifest).
#[derive(clap::Args)]
pub struct Args {}

pub fn run(ctx: &Ctx, _args: Args) -> Result<u8> {
    let home = ctx.open_home()?;
    let manifest = home.manifest()?;
    let rows: Vec<_> = manifest
        .plugins
        .iter()
        .map(|e| {
            let present = crate::plugin::definition_file(&home.plugin_dir(&e.directory)).is_some();
            (e, present)
        })
        .collect();
    ctx.ui.json(&super::report::List {
        home: home.root.clone(),
        plugins: rows
            .iter()
            .map(|(e, present)| super::report::Listed { plugin: (*e).into(), present: *present })
            .collect(),
    });
    if rows.is_empty() {
        ctx.ui.line("No plugins installed.");
        ctx.ui.line(ctx.ui.dim("Add one with `atk add <name | git URL | ./folder>`."));
        return Ok(0);
    }
    let table: Vec<[String; 4]> = rows
        .iter()
        .map(|(e, present)| {
            // The manifest may come from a cloned home: its text is shown escaped.
            let esc = |s: &str| crate::text::escape(s).into_owned();
            let source = match (&e.source.url, e.source.kind) {
                (Some(url), _) => format!("{} {}", e.source.kind.as_str(), esc(&crate::source::mask_credentials(url))),
                (None, k) => k.as_str().to_string(),
            };
            let pin =
                e.source.commit.as_deref().map_or("-".to_string(), |c| esc(&c.chars().take(12).collect::<String>()));
            let name = if *present { esc(&e.name) } else { format!("{} (not installed here)", esc(&e.name)) };
            [name, e.directory.clone(), source, pin]
        })
        .collect();
    let header = ["NAME", "DIRECTORY", "SOURCE", "PIN"].map(String::from);
    let widths: Vec<usize> =
        (0..4).map(|i| table.iter().chain([&header]).map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    let fmt = |r: &[String; 4]| {
        let cells: Vec<String> = r.iter().zip(&widths).map(|(c, w)| crate::text::pad(c, *w)).collect();
        cells.join("  ").trim_end().to_string()
    };
    ctx.ui.line(ctx.ui.bold(&fmt(&header)));
    for r in &table {
        ctx.ui.line(fmt(r));
    }
    Ok(0)
}
