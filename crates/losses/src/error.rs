//! The one error type of this crate.

/// What can go wrong when computing a loss.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LossError {
    /// Logits and targets (or main and coarse logits) do not share a shape.
    #[error("shape mismatch: {what} has shape {got:?} but {expected:?} was expected")]
    ShapeMismatch {
        /// Which tensor is wrong.
        what: &'static str,
        /// Its shape.
        got: Vec<usize>,
        /// The shape it must have.
        expected: Vec<usize>,
    },
}

/// Checks that `t` has shape `expected`.
pub(crate) fn same_shape(
    what: &'static str,
    got: Vec<usize>,
    expected: Vec<usize>,
) -> Result<(), LossError> {
    if got == expected {
        Ok(())
    } else {
        Err(LossError::ShapeMismatch {
            what,
            got,
            expected,
        })
    }
}
