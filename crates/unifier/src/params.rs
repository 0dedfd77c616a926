//! Typed statement parameters: bound as values into the plan, never spliced into text.

use datafusion::common::ParamValues;
use datafusion::scalar::ScalarValue;

/// Parameters of one statement: positional (`$1`, `$2`, ...) or named (`$name`).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Params {
    /// No parameters.
    #[default]
    None,
    /// `$1`, `$2`, ... in order.
    Positional(Vec<ScalarValue>),
    /// `$name` by name (without the `$`).
    Named(Vec<(String, ScalarValue)>),
}

impl Params {
    /// Positional parameters.
    pub fn positional(values: impl IntoIterator<Item = impl Into<ScalarValue>>) -> Self {
        Params::Positional(values.into_iter().map(Into::into).collect())
    }

    /// Named parameters.
    pub fn named<K: Into<String>, V: Into<ScalarValue>>(
        values: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Params::Named(
            values
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// How many values.
    pub fn len(&self) -> usize {
        match self {
            Params::None => 0,
            Params::Positional(v) => v.len(),
            Params::Named(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn to_param_values(&self) -> Option<ParamValues> {
        match self {
            Params::None => None,
            Params::Positional(v) => Some(ParamValues::from(v.clone())),
            Params::Named(v) => Some(ParamValues::from(v.clone())),
        }
    }
}
