import Foundation

/// KV caches kept from one generation call to the next, so that a generator called every
/// iteration of a run that lasts hours allocates its caches (and their inference workspaces)
/// once, not once per call.
///
/// Each decoding group takes a free cache that fits its batch and capacity and gives it back at
/// the end; when none fits, the largest free one is replaced by a cache big enough for both, so
/// the pool holds as many caches as groups ever ran at once, each grown only when a bigger batch
/// or a longer sequence is asked for.
public final class KVCachePool {
    private let lock = NSLock()
    private var free: [KVCache] = []
    private var allocations = 0

    public init() {}

    /// KV caches allocated by this pool since it was made (the test of "no allocation per call").
    public var cachesAllocated: Int {
        lock.lock()
        defer { lock.unlock() }
        return allocations
    }

    /// A cache of at least `batch` sequences and `capacity` positions for `model`, emptied.
    /// Sizes must have been validated (capacity within max_position_embeddings).
    func take(model: Llama, batch: Int, capacity: Int) -> KVCache {
        lock.lock()
        let fits = free.indices.filter { free[$0].batch >= batch && free[$0].capacity >= capacity }
        if let i = fits.min(by: { free[$0].batch * free[$0].capacity < free[$1].batch * free[$1].capacity }) {
            let cache = free.remove(at: i)
            lock.unlock()
            cache.reset()
            return cache
        }
        // None fits: replace the largest free cache (if any) by one that holds both shapes.
        var shape = (batch: batch, capacity: capacity)
        if let i = free.indices.max(by: { free[$0].batch * free[$0].capacity < free[$1].batch * free[$1].capacity }) {
            let old = free.remove(at: i)
            shape = (max(batch, old.batch), max(capacity, old.capacity))
        }
        allocations += 1
        lock.unlock()
        return KVCache(validatedModel: model, batch: shape.batch, capacity: shape.capacity)
    }

    /// Returns a cache taken with `take` for later calls.
    func giveBack(_ cache: KVCache) {
        lock.lock()
        free.append(cache)
        lock.unlock()
    }
}
