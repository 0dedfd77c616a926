//! `unifier tables`: the catalog's datasets and their capabilities.

use std::path::Path;

use clap::{Args, ValueEnum};
use unifier::io::{DatasetKind, TableProviderMetadata};

use crate::manifest::open_catalog;
use crate::output::counted;
use crate::{Exit, print_out};

/// Output formats of `tables`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TablesFormat {
    /// One line per dataset.
    Text,
    /// A JSON array of dataset objects.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct TablesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = TablesFormat::Text)]
    format: TablesFormat,
    /// Include the live `diagnostics.*` and `system.*` tables.
    #[arg(long)]
    all: bool,
}

pub(crate) async fn run(catalog: Option<&Path>, args: TablesArgs) -> Exit {
    let (_, unifier) = match open_catalog(catalog).await {
        Ok(opened) => opened,
        Err(exit) => return exit,
    };
    let datasets: Vec<TableProviderMetadata> = unifier
        .catalog()
        .datasets()
        .into_iter()
        .filter(|d| args.all || d.kind != DatasetKind::System)
        .collect();
    let text = match args.format {
        TablesFormat::Json => {
            let rows: Vec<serde_json::Value> = datasets.iter().map(dataset_json).collect();
            serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"
        }
        TablesFormat::Text => datasets.iter().map(dataset_line).collect(),
    };
    print_out(&text, Exit::Ok)
}

fn dataset_json(d: &TableProviderMetadata) -> serde_json::Value {
    let mut value = serde_json::to_value(d).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        let columns: Vec<serde_json::Value> = d
            .schema
            .fields()
            .iter()
            .map(|f| serde_json::json!({"name": f.name(), "type": f.data_type().to_string(), "nullable": f.is_nullable()}))
            .collect();
        object.insert("columns".into(), columns.into());
        object.insert("sort_order_sql".into(), d.sort_order_sql().into());
    }
    value
}

pub(crate) fn dataset_line(d: &TableProviderMetadata) -> String {
    if let Some(error) = &d.error {
        return format!("{} ({}): UNAVAILABLE: {error}\n", d.name, d.kind.as_str());
    }
    let mut parts = vec![format!("{} ({}", d.name, d.kind.as_str())];
    if let Some(format) = d.format {
        parts[0].push_str(&format!(", {format}"));
    }
    parts[0].push(')');
    parts.push(format!("{} columns", d.schema.fields().len()));
    if let Some(files) = d.files {
        parts.push(counted(files, "file", "files"));
    }
    if let Some(rows) = d.rows {
        parts.push(counted(rows, "row", "rows"));
    }
    if !d.partition_cols.is_empty() {
        parts.push(format!(
            "partitioned by {}",
            d.partition_col_names().join(", ")
        ));
    }
    if let Some(order) = d.sort_order_sql() {
        parts.push(format!(
            "sorted by {order} ({})",
            d.sort_verification.state()
        ));
    }
    if let Some(delta) = &d.delta {
        let pinned = if delta.pinned {
            format!(" of {}, pinned", delta.latest_version)
        } else {
            String::new()
        };
        parts.push(format!(
            "delta version {}{pinned} (reader {}, writer {}{})",
            delta.version,
            delta.min_reader_version,
            delta.min_writer_version,
            if delta.features.is_empty() {
                String::new()
            } else {
                format!("; {}", delta.features.join(", "))
            }
        ));
    }
    if d.capabilities.any() {
        parts.push(format!("writes: {}", d.capabilities.names().join(", ")));
    }
    let mut line = parts.join(", ");
    for warning in &d.warnings {
        line.push_str(&format!("\n  warning: {warning}"));
    }
    line + "\n"
}
