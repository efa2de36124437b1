//! The per-instance budget behind `Config::max_memory_pages`: one limit on
//! the sum of an instance's linear memories (pages × 64 KiB) and tables
//! (elements × 8 bytes), charged when they are made (fresh or restored
//! from a snapshot), grown or reset. Without it each memory and table
//! would be capped separately, and a module defining many would multiply
//! the cap.

use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes a table element is charged (its raw word).
pub(crate) const TABLE_ELEM_BYTES: u64 = 8;

#[derive(Debug)]
pub(crate) struct Budget {
    limit: u64,
    used: AtomicU64,
}

impl Budget {
    pub(crate) fn new(limit: u64) -> Budget {
        Budget {
            limit,
            used: AtomicU64::new(0),
        }
    }

    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// Takes `bytes` from the budget: `false`, nothing taken, past it.
    pub(crate) fn charge(&self, bytes: u64) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|n| *n <= self.limit)
            })
            .is_ok()
    }

    pub(crate) fn refund(&self, bytes: u64) {
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                Some(used.saturating_sub(bytes))
            });
    }

    #[cfg(test)]
    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }
}

/// Bytes the host holds on an instance's behalf (a chained call's input,
/// say), charged to the instance's budget until this is dropped, which may
/// be long after the instance is gone.
#[derive(Debug)]
pub struct HostCharge {
    budget: Option<std::sync::Arc<Budget>>,
    bytes: u64,
}

impl HostCharge {
    /// A charge to nobody: for bytes held for no instance.
    pub fn none() -> HostCharge {
        HostCharge {
            budget: None,
            bytes: 0,
        }
    }

    /// Takes `bytes` from `budget` (if any) until dropped; `Err` with the
    /// budget's limit past it.
    pub(crate) fn take(
        budget: &Option<std::sync::Arc<Budget>>,
        bytes: u64,
    ) -> Result<HostCharge, OverBudget> {
        match budget {
            Some(b) if !b.charge(bytes) => Err(OverBudget { limit: b.limit() }),
            _ => Ok(HostCharge {
                budget: budget.clone(),
                bytes,
            }),
        }
    }
}

impl Drop for HostCharge {
    fn drop(&mut self) {
        refund(&self.budget, self.bytes);
    }
}

/// A [`HostCharge`] refused: it would take the instance past its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("over the instance's memory limit of {limit} bytes")]
pub struct OverBudget {
    /// The instance's memory limit, in bytes.
    pub limit: u64,
}

/// Charges `bytes` to `budget` if there is one.
pub(crate) fn charge(budget: &Option<std::sync::Arc<Budget>>, bytes: u64) -> bool {
    budget.as_ref().is_none_or(|b| b.charge(bytes))
}

pub(crate) fn refund(budget: &Option<std::sync::Arc<Budget>>, bytes: u64) {
    if let Some(b) = budget {
        b.refund(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_stop_at_the_limit_and_refunds_free_room() {
        let b = Budget::new(100);
        assert!(b.charge(60));
        assert!(!b.charge(41));
        assert_eq!(b.used(), 60);
        assert!(b.charge(40));
        b.refund(50);
        assert!(b.charge(50));
        assert!(!b.charge(1));
    }

    #[test]
    fn host_charges_hold_budget_until_dropped() {
        let b = Some(std::sync::Arc::new(Budget::new(100)));
        let held = HostCharge::take(&b, 70).unwrap();
        assert_eq!(
            HostCharge::take(&b, 31).unwrap_err(),
            OverBudget { limit: 100 }
        );
        drop(held);
        let _all = HostCharge::take(&b, 100).unwrap();
        assert!(HostCharge::take(&None, u64::MAX).is_ok());
    }
}
