//! Work split over every core, with results in input order, so that parallelism never changes
//! what tenantc produces (byte-for-byte determinism).

/// Below this many items a thread costs more than it saves.
const MIN_PER_THREAD: usize = 64;

/// `f` applied to every item, on up to `available_parallelism()` scoped threads (see
/// [`map_indexed`]); the results are in the order of `items`. A small input stays on the calling
/// thread.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_indexed(items.len(), |i| f(&items[i]))
}

/// `f` applied to `0..n`, on every core, taking the next few indexes as each thread becomes
/// free (so that a few heavy items, such as a namespace consumed by every tenant, do not leave a
/// core idle); the results are in index order.
pub fn map_indexed<R: Send>(n: usize, f: impl Fn(usize) -> R + Sync) -> Vec<R> {
    /// Indexes taken at a time: enough to make the shared counter cheap.
    const BATCH: usize = 8;
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(n / MIN_PER_THREAD)
        .max(1);
    if threads == 1 {
        return (0..n).map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (f, next) = (&f, &next);
    let parts: Vec<Vec<(usize, Vec<R>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let start = next.fetch_add(BATCH, std::sync::atomic::Ordering::Relaxed);
                        if start >= n {
                            return done;
                        }
                        done.push((start, (start..(start + BATCH).min(n)).map(f).collect()));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut batches: Vec<(usize, Vec<R>)> = parts.into_iter().flatten().collect();
    batches.sort_unstable_by_key(|(start, _)| *start);
    batches.into_iter().flat_map(|(_, r)| r).collect()
}

/// `items` split into one contiguous part per core, `f` applied to each part on a thread of its
/// own; the results in the order of the parts. For work that keeps state across its items (a
/// cache of what they share), so that there is one per core, not one per batch. A small input is
/// one part, on the calling thread.
pub fn map_parts<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(items.len() / MIN_PER_THREAD)
        .max(1);
    if threads == 1 {
        return vec![f(items)];
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(items.len().div_ceil(threads))
            .map(|part| scope.spawn(move || f(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_input_order() {
        let items: Vec<u32> = (0..10_000).collect();
        let out = super::map(&items, |i| i * 2);
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(super::map(&[] as &[u32], |i| *i), Vec::<u32>::new());
    }

    #[test]
    fn parts_cover_the_input_in_order() {
        for n in [0, 1, 63, 64, 129, 10_001] {
            let items: Vec<u32> = (0..n).collect();
            let parts = super::map_parts(&items, <[u32]>::to_vec);
            assert!(!parts.is_empty() && parts.iter().all(|p| !p.is_empty() || n == 0));
            assert_eq!(parts.concat(), items, "{n}");
        }
    }
}
