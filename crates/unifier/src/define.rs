//! Defining datasets through the facade: registrations with the profile's sort policy,
//! views compiled through the gate (with an output contract when declared), Delta
//! tables created with their schema, drops.

use arrow::datatypes::SchemaRef;
use unifier_io_adapter::contract::{self, NullCheck};
use unifier_io_adapter::{
    DatasetSpec, DeltaTableOptions, IfExists, SchemaMode, TableProviderMetadata,
};

use crate::error::{Error, Result};
use crate::params::Params;
use crate::unifier::Unifier;

impl Unifier {
    /// Registers a dataset (listing, Delta, Delta change feed) with the profile's sort
    /// policy.
    pub async fn register(
        &self,
        name: &str,
        spec: impl Into<DatasetSpec>,
        if_exists: IfExists,
    ) -> Result<TableProviderMetadata> {
        Ok(self
            .io
            .register(name, spec, self.register_options(if_exists))
            .await?)
    }

    /// Registers a view from SQL: compiled through the gate like any statement (it must
    /// be a query), then registered through the catalog.
    pub async fn register_view(
        &self,
        name: &str,
        sql: &str,
        if_exists: IfExists,
    ) -> Result<TableProviderMetadata> {
        self.create_view(name, sql, None, if_exists).await
    }

    /// Registers a view from SQL whose output must keep its declared contract (names,
    /// types and nullability; `strict`: exactly those columns, `additive`: more may
    /// follow); a mismatch lists every differing column with the expected and the found
    /// type. No schema is inferred when one is declared.
    pub async fn create_view(
        &self,
        name: &str,
        sql: &str,
        contract: Option<OutputContract>,
        if_exists: IfExists,
    ) -> Result<TableProviderMetadata> {
        let query = self
            .compile_query(sql, Params::None, &format!("view `{name}`"))
            .await?;
        if let Some(contract) = &contract {
            let differences = contract::differences(
                &contract.schema,
                query.plan.schema().as_arrow(),
                contract.mode,
                NullCheck::Schema,
            );
            if !differences.is_empty() {
                return Err(Error::ContractBroken {
                    name: name.into(),
                    differences,
                });
            }
        }
        let metadata = self.io.register_view(
            name,
            query.plan,
            Some(query.canonical_sql),
            self.register_options(if_exists),
        )?;
        Ok(metadata)
    }

    /// Creates a Delta table with exactly `schema` at `options.location` (or checks
    /// that the table there has it) and registers it as `name`, writable.
    ///
    /// Under a policy that allows no writes (no `dml` class) nothing is created: a table
    /// already at the location is checked and registered, a missing one is
    /// [`Error::WriteDenied`].
    pub async fn create_table(
        &self,
        name: &str,
        schema: SchemaRef,
        options: DeltaTableOptions,
        if_exists: IfExists,
    ) -> Result<TableProviderMetadata> {
        let register = self.register_options(if_exists);
        if crate::unifier::allows_writes(&self.policy) {
            return Ok(self
                .io
                .create_delta(name, schema, options, register)
                .await?);
        }
        let location = options.location.clone();
        match self
            .io
            .open_declared_delta(name, schema, options, register)
            .await
        {
            Err(unifier_io_adapter::Error::MissingLocation { .. }) => Err(Error::WriteDenied {
                reason: format!(
                    "table `{name}` does not exist at `{location}`, and this policy allows no writes: it is not created (the writer preset creates it)"
                ),
            }),
            other => Ok(other?),
        }
    }

    pub(crate) fn drop_table(&self, sql: &str, name: &str, if_exists: bool) -> Result<()> {
        if !self.io.deregister(name)? && !if_exists {
            return Err(Error::Unsupported {
                sql: sql.to_owned(),
                reason: format!("table `{name}` is not registered"),
            });
        }
        Ok(())
    }
}

/// The declared schema of an output, and how strictly it binds.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputContract {
    /// The columns, in order.
    pub schema: SchemaRef,
    /// `Strict`: exactly these columns; `Additive`: these, then any others.
    pub mode: SchemaMode,
}

impl OutputContract {
    /// A strict contract on `schema`.
    pub fn strict(schema: SchemaRef) -> Self {
        Self {
            schema,
            mode: SchemaMode::Strict,
        }
    }
}
