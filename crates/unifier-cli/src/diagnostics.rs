//! `unifier diagnostics`: the events of this and earlier runs (from the manifest's
//! `[diagnostics]` directory).

use std::path::Path;

use arrow::compute::concat_batches;
use clap::Args;
use unifier::diagnostics::EventKind;

use crate::manifest::Manifest;
use crate::output::{RowFormat, render_rows};
use crate::{Exit, print_out};

#[derive(Debug, Args)]
pub(crate) struct DiagnosticsArgs {
    /// Only events of this kind (policy, compile, execute, register, write, cdf, error),
    /// with the kind's own columns.
    #[arg(long)]
    kind: Option<String>,
    /// The newest N events, oldest first.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RowFormat::Table)]
    format: RowFormat,
}

pub(crate) fn run(catalog: Option<&Path>, args: DiagnosticsArgs) -> Exit {
    let kind = match args
        .kind
        .as_deref()
        .map(str::parse::<EventKind>)
        .transpose()
    {
        Ok(kind) => kind,
        Err(e) => {
            eprintln!("error: --kind: {e}");
            return Exit::Usage;
        }
    };
    let manifest = match Manifest::locate(catalog) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage;
        }
    };
    // Reading events registers nothing and runs no SQL, so it records nothing either.
    let mut profile = manifest.profile.diagnostics.clone();
    profile.history = true;
    let mut builder =
        unifier::diagnostics::DiagnosticsRecorder::builder().with_capacity(profile.capacity);
    if let Some(dir) = &profile.dir {
        if !dir.exists() {
            eprintln!("no events yet: `{}` does not exist", dir.display());
            return Exit::Ok;
        }
        builder = builder.with_jsonl_dir(dir);
    }
    let recorder = match builder.build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}", crate::chain(&e));
            return Exit::Runtime;
        }
    };
    // The reader's own (empty) session file is not worth keeping.
    if let Some(path) = recorder.jsonl_path() {
        let _ = std::fs::remove_file(path);
    }
    let (schema, batches) = match recorder.record_batches(kind, 8192) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {}", crate::chain(&e));
            return Exit::Runtime;
        }
    };
    let all = match concat_batches(&schema, &batches) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {}", crate::chain(&e));
            return Exit::Runtime;
        }
    };
    let skip = all.num_rows().saturating_sub(args.limit);
    let newest = all.slice(skip, all.num_rows() - skip);
    match render_rows(&schema, &[newest], args.format) {
        Ok(text) => print_out(&text, Exit::Ok),
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Runtime
        }
    }
}
