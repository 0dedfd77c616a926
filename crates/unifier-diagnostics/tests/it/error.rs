//! `error_chain`: what events and the CLI show of an error.
use unifier_diagnostics::error_chain;

#[derive(Debug)]
struct Text(String, Option<Box<Text>>);

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Text {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.1.as_deref().map(|e| e as _)
    }
}

#[test]
fn causes_appear_once_and_backtraces_not_at_all() {
    let kernel = Text(
        "Generic delta kernel error: file not found\n   0: std::backtrace::Backtrace::capture\n             at /rustc/library/std/src/backtrace.rs:296:9\n   1: delta_kernel::error::Error::with_backtrace\n".into(),
        None,
    );
    let delta = Text(
        "Kernel error: Generic delta kernel error: file not found".into(),
        Some(Box::new(kernel)),
    );
    let ours = Text("table `t`: cannot load it".into(), Some(Box::new(delta)));
    assert_eq!(
        error_chain(&ours),
        "table `t`: cannot load it: Kernel error: Generic delta kernel error: file not found"
    );
    // A message that lists numbered items on its first line is not a backtrace.
    let plain = Text("expected 2: got 3".into(), None);
    assert_eq!(error_chain(&plain), "expected 2: got 3");
}
