/// A `SequenceWindow` per connection (a ROUTER's routing id), at most `capacity` of them: past
/// that the connection heard from longest ago is forgotten, so a peer opening connection after
/// connection cannot grow a server's memory (a forgotten connection only loses its window).
public struct ConnectionSequenceWindows: Sendable {
    public let capacity: Int
    private var windows: [[UInt8]: (window: SequenceWindow, lastUse: UInt64)] = [:]
    private var clock: UInt64 = 0

    public init(capacity: Int = 4096) { self.capacity = max(1, capacity) }

    /// Whether `sequence` is new on the connection `routingID`; records it when it is.
    public mutating func accept(_ sequence: UInt64, from routingID: [UInt8]) -> Bool {
        clock &+= 1
        if windows[routingID] == nil, windows.count >= capacity, let oldest = windows.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            windows[oldest.key] = nil
        }
        var entry = windows[routingID] ?? (SequenceWindow(), 0)
        let fresh = entry.window.accept(sequence)
        entry.lastUse = clock
        windows[routingID] = entry
        return fresh
    }

    /// Connections remembered.
    public var count: Int { windows.count }
}
