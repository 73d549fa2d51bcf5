import Foundation

/// KV caches kept from one generation call to the next, so that a generator called every
/// iteration of a run that lasts hours allocates its caches (and their inference workspaces)
/// once, not once per call.
///
/// One cache per slot: slot p serves part p of a generation, and part p always decodes the same
/// rows of a batch of a given size. Which cache serves which rows therefore does not depend on
/// which thread got there first (a shared free list did: two parts run one after the other under
/// load merged their caches into one, and the next call, run side by side, had to allocate).
/// A slot's cache is replaced, by one big enough for both shapes, only when a bigger batch or a
/// longer sequence is asked of it.
public final class KVCachePool {
    private let lock = NSLock()
    private var slots: [Int: KVCache] = [:]
    private var inUse: Set<Int> = []
    private var allocations = 0

    public init() {}

    /// KV caches allocated by this pool since it was made (the test of "no allocation per call").
    public var cachesAllocated: Int {
        lock.lock()
        defer { lock.unlock() }
        return allocations
    }

    /// A cache taken from a slot, to give back when the part is done.
    struct Lease {
        let cache: KVCache
        /// Nil when the slot was busy (the generator used from two threads at once): the cache
        /// is then the caller's alone and is not kept.
        let slot: Int?
    }

    /// A cache of at least `batch` sequences and `capacity` positions for `model`, emptied.
    /// Sizes must have been validated (capacity within max_position_embeddings).
    func take(slot: Int, model: Llama, batch: Int, capacity: Int) -> Lease {
        lock.lock()
        guard !inUse.contains(slot) else {
            allocations += 1
            lock.unlock()
            return Lease(cache: KVCache(validatedModel: model, batch: batch, capacity: capacity), slot: nil)
        }
        inUse.insert(slot)
        let held = slots[slot]
        if let held, held.batch >= batch, held.capacity >= capacity {
            lock.unlock()
            held.reset()
            return Lease(cache: held, slot: slot)
        }
        allocations += 1
        lock.unlock()
        let shape = (batch: max(batch, held?.batch ?? 0), capacity: max(capacity, held?.capacity ?? 0))
        return Lease(cache: KVCache(validatedModel: model, batch: shape.batch, capacity: shape.capacity), slot: slot)
    }

    /// Returns a lease taken with `take`; its cache serves the slot's later calls.
    func giveBack(_ lease: Lease) {
        guard let slot = lease.slot else { return }
        lock.lock()
        slots[slot] = lease.cache
        inUse.remove(slot)
        lock.unlock()
    }
}
