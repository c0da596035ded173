//! Size caps for the files kept in a transcript, applied by the bot while it downloads them.

use crate::format::human_size;

/// Caps on kept files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A file larger than this is left out.
    pub max_file_bytes: u64,
    /// Files are left out once the kept ones would exceed this in total.
    pub max_total_bytes: u64,
}

impl Default for Limits {
    /// 8 MiB per file, 50 MiB per transcript.
    fn default() -> Self {
        Limits {
            max_file_bytes: 8 * 1024 * 1024,
            max_total_bytes: 50 * 1024 * 1024,
        }
    }
}

/// Running total of the files admitted into one transcript.
///
/// ```
/// use ticketbot_transcript::{AssetBudget, Limits};
/// let mut budget = AssetBudget::new(Limits { max_file_bytes: 100, max_total_bytes: 150 });
/// assert!(budget.admit(100).is_ok());
/// assert_eq!(budget.admit(101).unwrap_err(), "larger than the 100 B per-file cap");
/// assert_eq!(budget.admit(60).unwrap_err(), "transcript size cap of 150 B reached");
/// assert!(budget.admit(50).is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct AssetBudget {
    limits: Limits,
    used: u64,
}

impl AssetBudget {
    /// An empty budget.
    pub fn new(limits: Limits) -> Self {
        AssetBudget { limits, used: 0 }
    }

    /// Counts a file of `size` bytes in, or says why it must be left out (the text for
    /// [`crate::Omission::reason`]). A refused file does not count.
    pub fn admit(&mut self, size: u64) -> Result<(), String> {
        if size > self.limits.max_file_bytes {
            return Err(format!(
                "larger than the {} per-file cap",
                human_size(self.limits.max_file_bytes)
            ));
        }
        match self.used.checked_add(size) {
            Some(total) if total <= self.limits.max_total_bytes => {
                self.used = total;
                Ok(())
            }
            _ => Err(format!(
                "transcript size cap of {} reached",
                human_size(self.limits.max_total_bytes)
            )),
        }
    }

    /// Bytes admitted so far.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// The caps.
    pub fn limits(&self) -> Limits {
        self.limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_caps_and_reasons() {
        let mut b = AssetBudget::new(Limits::default());
        assert_eq!(
            b.admit(8 * 1024 * 1024 + 1).unwrap_err(),
            "larger than the 8 MiB per-file cap"
        );
        for _ in 0..6 {
            b.admit(8 * 1024 * 1024).unwrap();
        }
        assert_eq!(b.used(), 48 * 1024 * 1024);
        assert_eq!(
            b.admit(3 * 1024 * 1024).unwrap_err(),
            "transcript size cap of 50 MiB reached"
        );
        b.admit(2 * 1024 * 1024).unwrap();
        assert_eq!(b.used(), 50 * 1024 * 1024);
        b.admit(0).unwrap();
        assert!(b.admit(1).is_err());
    }

    #[test]
    fn no_overflow() {
        let mut b = AssetBudget::new(Limits {
            max_file_bytes: u64::MAX,
            max_total_bytes: u64::MAX,
        });
        b.admit(u64::MAX).unwrap();
        assert!(b.admit(1).is_err());
    }
}
