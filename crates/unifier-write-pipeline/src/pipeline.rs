//! [`WritePipeline`]: the catalog a write goes through. Its jobs live beside it: the
//! target ([`crate::target`]), the path ([`crate::path`]), the operations
//! ([`crate::insert`], [`crate::operations`], [`crate::write`]), what deltalake's errors
//! mean ([`crate::violation`]) and the end of every write ([`crate::commit`]).

use unifier_io_adapter::IoAdapter;

/// Writes into Delta tables registered in an [`IoAdapter`] (or at a location).
#[derive(Debug, Clone)]
pub struct WritePipeline {
    io: IoAdapter,
}

impl WritePipeline {
    /// A pipeline over the catalog `io`.
    pub fn new(io: IoAdapter) -> Self {
        Self { io }
    }

    /// The catalog.
    pub fn io(&self) -> &IoAdapter {
        &self.io
    }
}
