import Dispatch
import Messaging
import Synchronization

/// The role protocol on the wire: a request or reply is one Messaging message of kind
/// `roleRequest` or `roleReply`; metadata `kind` names the request, `integers`, `numbers` and
/// `strings` carry the scalars, and every array is a raw tensor frame under its field name.
public enum RoleMessages {
    public static let roleRequest = MessageKind(rawValue: 16)
    public static let roleReply = MessageKind(rawValue: 17)

    public static func message(_ p: RolePayload, kind: MessageKind, policyVersion: Int = 0) throws -> Message {
        var metadata: [String: MetadataValue] = ["kind": .string(p.kind)]
        if !p.integers.isEmpty { metadata["integers"] = .object(p.integers.mapValues { .int(Int64($0)) }) }
        if !p.numbers.isEmpty {
            // JSON has no NaN or infinity: such a figure travels as null and is dropped on arrival.
            metadata["numbers"] = .object(p.numbers.mapValues { $0.isFinite ? .double($0) : .null })
        }
        if !p.strings.isEmpty { metadata["strings"] = .object(p.strings.mapValues { .string($0) }) }
        var tensors: [TensorFrame] = []
        for name in p.arrays.keys.sorted() {
            switch p.arrays[name]! {
            case .f32(let v, let shape): tensors.append(try TensorFrame(name: name, shape: shape, floats: v))
            case .i32(let v, let shape): tensors.append(try TensorFrame(name: name, shape: shape, int32s: v))
            case .u8(let v, let shape): tensors.append(try TensorFrame(name: name, shape: shape, uint8s: v))
            }
        }
        return Message(kind: kind, policyVersion: UInt64(max(0, policyVersion)), metadata: metadata, tensors: tensors)
    }

    /// The payload of a message, refusing anything that is not what the role protocol sends.
    public static func payload(_ m: Message, expecting kind: MessageKind) throws -> RolePayload {
        guard m.kind == kind else { throw RoleError(.badInput, "expected a \(kind) message, got \(m.kind)") }
        guard case .string(let name)? = m.metadata["kind"] else { throw RoleError(.badInput, "a role message without a kind") }
        var p = RolePayload(kind: name)
        if case .object(let o)? = m.metadata["integers"] {
            for (k, v) in o {
                guard let i = v.intValue, let n = Int(exactly: i) else { throw RoleError(.badInput, "\(name): integer \(k) is not an integer") }
                p.integers[k] = n
            }
        }
        if case .object(let o)? = m.metadata["numbers"] {
            for (k, v) in o { if let d = v.doubleValue { p.numbers[k] = d } }
        }
        if case .object(let o)? = m.metadata["strings"] {
            for (k, v) in o {
                guard case .string(let s) = v else { throw RoleError(.badInput, "\(name): string \(k) is not a string") }
                p.strings[k] = s
            }
        }
        for t in m.tensors {
            switch t.dtype {
            case .f32: p.arrays[t.name] = .f32(try t.floats(), shape: t.shape)
            case .i32: p.arrays[t.name] = .i32(try t.int32s(), shape: t.shape)
            case .u8: p.arrays[t.name] = .u8(try t.uint8s(), shape: t.shape)
            }
        }
        return p
    }
}

/// A role reached over Messaging: each call is a request with a timeout; an error reply, a
/// timeout or a closed connection becomes a `RoleError` naming the role.
public struct MessagingRoleChannel: RoleChannel {
    public let role: RoleName
    let client: MessageClient
    let timeout: Duration
    /// Adds up the time calls spent outside the roles' own work.
    let clock: MessagingClock?
    /// Keeps the memory figures each reply carries.
    let memory: RoleMemoryReadings?

    public init(role: RoleName, client: MessageClient, timeout: Duration, clock: MessagingClock? = nil, memory: RoleMemoryReadings? = nil) {
        self.role = role
        self.client = client
        self.timeout = timeout
        self.clock = clock
        self.memory = memory
    }

    public func call(_ request: RoleRequest) async throws -> RoleReply {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let message = try RoleMessages.message(RoleCodec.encode(request), kind: RoleMessages.roleRequest)
        let reply: Message
        do {
            reply = try await client.request(message, timeout: timeout)
        } catch let error as MessagingError {
            if case .remote = error.code {
                throw RoleError(.failed, "\(role.rawValue) refused \(request.kind): \(error.detail)")
            }
            if case .timeout = error.code {
                // Names the setting, so whoever reads it knows what waited and what to change.
                throw RoleError(.unavailable, "\(role.rawValue) (\(client.endpoint)) did not answer \(request.kind) within \(timeout) "
                                + "(transport.request_timeout_seconds); the role is hung or slower than that: see its log")
            }
            throw RoleError(.unavailable, "\(role.rawValue) (\(client.endpoint)) did not answer \(request.kind): \(error)")
        }
        if reply.kind == .error {
            let text = (try? reply.string("text")) ?? "no reason given"
            throw RoleError(.failed, "\(role.rawValue) refused \(request.kind): \(text)")
        }
        do {
            let decoded = try RoleCodec.decodeReply(try RoleMessages.payload(reply, expecting: RoleMessages.roleReply))
            if let clock, let handler = reply.metadata["handler_s"]?.doubleValue {
                let total = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                clock.add(max(0, total - handler))
            }
            if let memory, let peak = reply.metadata["peak_rss_bytes"]?.doubleValue {
                memory.record(role, peakBytes: Int(peak), tensorBytes: reply.metadata["tensor_bytes"]?.doubleValue.map { Int($0) })
            }
            return decoded
        } catch let error as RoleError {
            throw RoleError(.badInput, "\(role.rawValue) answered \(request.kind) with a malformed reply: \(error.message)")
        }
    }
}

/// Seconds spent in messaging (encoding, ZeroMQ, decoding, queues): each call's round trip less
/// the time the role reported for its own work. Calls overlap, so per iteration this is an upper
/// bound on messaging's share of the wall time.
public final class MessagingClock: Sendable {
    private let nanoseconds = Atomic<Int>(0)
    public init() {}
    func add(_ seconds: Double) { nanoseconds.add(Int(seconds * 1e9), ordering: .relaxed) }
    /// The seconds added since the last call.
    public func take() -> Double { Double(nanoseconds.exchange(0, ordering: .relaxed)) / 1e9 }
}
