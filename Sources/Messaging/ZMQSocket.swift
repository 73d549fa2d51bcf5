import CZeroMQ
import Foundation

/// A ZeroMQ socket with every return code checked. Not thread-safe, as libzmq's sockets are not:
/// one thread owns each socket (in a `MessagingNode`, its I/O thread owns them all).
public final class ZMQSocket {
    /// The socket patterns this layer uses (values are libzmq's `ZMQ_*` constants).
    public enum Kind: Int32, Sendable {
        case pair = 0, pub = 1, sub = 2, req = 3, rep = 4, dealer = 5, router = 6, pull = 7, push = 8
    }

    private(set) var handle: UnsafeMutableRawPointer?
    public let context: ZMQContext
    public let kind: Kind

    /// Makes a socket with linger 0 (closing never waits on undelivered messages).
    public init(_ context: ZMQContext, _ kind: Kind) throws {
        self.context = context
        self.kind = kind
        guard let h = zmq_socket(context.handle, kind.rawValue) else { throw ZMQError.last("zmq_socket(\(kind))") }
        handle = h
        try setLinger(milliseconds: 0)
    }

    deinit { close() }

    /// Closes the socket; later calls fail with ENOTSOCK. Idempotent. (`zmq_close` only fails on
    /// an invalid handle, which `handle = nil` rules out.)
    public func close() {
        if let h = handle { zmq_close(h) }
        handle = nil
    }

    public var isClosed: Bool { handle == nil }

    func open(_ call: String) throws -> UnsafeMutableRawPointer {
        guard let h = handle else { throw ZMQError(call: call, errno: ENOTSOCK) }
        return h
    }

    // MARK: - Endpoints

    public func bind(_ endpoint: String) throws {
        try ZMQError.check(zmq_bind(try open("zmq_bind"), endpoint), "zmq_bind(\(endpoint))")
    }

    public func connect(_ endpoint: String) throws {
        try ZMQError.check(zmq_connect(try open("zmq_connect"), endpoint), "zmq_connect(\(endpoint))")
    }

    public func disconnect(_ endpoint: String) throws {
        try ZMQError.check(zmq_disconnect(try open("zmq_disconnect"), endpoint), "zmq_disconnect(\(endpoint))")
    }

    /// The endpoint last bound, with the port the system chose for `tcp://127.0.0.1:*`.
    public func boundEndpoint() throws -> String {
        var buf = [CChar](repeating: 0, count: 1024)
        var len = buf.count
        try ZMQError.check(zmq_getsockopt(try open("zmq_getsockopt"), ZMQ_LAST_ENDPOINT, &buf, &len), "zmq_getsockopt(ZMQ_LAST_ENDPOINT)")
        return String(nulTerminated: buf)
    }

    /// The endpoint last bound ("" when it cannot be read; `boundEndpoint()` throws instead).
    public var lastEndpoint: String { (try? boundEndpoint()) ?? "" }

    // MARK: - Options

    /// Sets an integer option (`ZMQ_*` constant).
    public func setOption(_ option: Int32, _ value: Int32, name: String) throws {
        var v = value
        try ZMQError.check(zmq_setsockopt(try open("zmq_setsockopt"), option, &v, MemoryLayout<Int32>.size), "zmq_setsockopt(\(name)=\(value))")
    }

    /// Sets a bytes option (`ZMQ_SUBSCRIBE`, `ZMQ_ROUTING_ID`, ...).
    public func setOption(_ option: Int32, bytes: [UInt8], name: String) throws {
        let h = try open("zmq_setsockopt")
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(h, option, $0.baseAddress, $0.count) }
        try ZMQError.check(rc, "zmq_setsockopt(\(name), \(bytes.count) bytes)")
    }

    /// Milliseconds `close` waits to flush unsent messages (0: none; -1: forever).
    public func setLinger(milliseconds: Int32) throws { try setOption(ZMQ_LINGER, milliseconds, name: "ZMQ_LINGER") }

    /// Messages queued per peer before sends block (or fail with EAGAIN) and receives stop reading.
    public func setHighWaterMarks(send: Int32, receive: Int32) throws {
        try setOption(ZMQ_SNDHWM, send, name: "ZMQ_SNDHWM")
        try setOption(ZMQ_RCVHWM, receive, name: "ZMQ_RCVHWM")
    }

    /// Milliseconds a receive waits before failing with EAGAIN; -1 waits forever.
    public func setReceiveTimeout(milliseconds: Int32) throws { try setOption(ZMQ_RCVTIMEO, milliseconds, name: "ZMQ_RCVTIMEO") }

    /// Milliseconds a send waits before failing with EAGAIN; -1 waits forever.
    public func setSendTimeout(milliseconds: Int32) throws { try setOption(ZMQ_SNDTIMEO, milliseconds, name: "ZMQ_SNDTIMEO") }

    /// The largest frame a peer may send over ipc/tcp; a peer that sends more is disconnected by
    /// libzmq before the frame is allocated (-1: no limit). inproc does not apply it.
    public func setMaxMessageSize(bytes: Int64) throws {
        var v = bytes
        try ZMQError.check(zmq_setsockopt(try open("zmq_setsockopt"), ZMQ_MAXMSGSIZE, &v, MemoryLayout<Int64>.size), "zmq_setsockopt(ZMQ_MAXMSGSIZE=\(bytes))")
    }

    /// SUB: receive messages whose first frame starts with `prefix` (empty: everything).
    public func subscribe(_ prefix: [UInt8]) throws { try setOption(ZMQ_SUBSCRIBE, bytes: prefix, name: "ZMQ_SUBSCRIBE") }

    /// SUB: stop receiving messages with `prefix`.
    public func unsubscribe(_ prefix: [UInt8]) throws { try setOption(ZMQ_UNSUBSCRIBE, bytes: prefix, name: "ZMQ_UNSUBSCRIBE") }

    /// ROUTER: make a send to an unknown or gone peer fail with EHOSTUNREACH instead of vanishing.
    public func setRouterMandatory(_ on: Bool) throws { try setOption(ZMQ_ROUTER_MANDATORY, on ? 1 : 0, name: "ZMQ_ROUTER_MANDATORY") }

    /// `ZMQ_EVENTS`: whether a receive (POLLIN) or a send (POLLOUT) would succeed now.
    public func events() throws -> Int32 {
        var v: Int32 = 0
        var len = MemoryLayout<Int32>.size
        try ZMQError.check(zmq_getsockopt(try open("zmq_getsockopt"), ZMQ_EVENTS, &v, &len), "zmq_getsockopt(ZMQ_EVENTS)")
        return v
    }

    // MARK: - Sending

    /// Sends a multipart message. Frames are handed to libzmq without a copy (`zmq_msg_init_data`
    /// over the `FrameBytes` buffer, released when zmq is done with it). Returns false when
    /// `dontWait` is set and the message could not be queued (high-water mark reached): nothing of
    /// it was sent then (zmq queues a multipart message whole once its first frame is accepted).
    @discardableResult
    public func send(frames: [FrameBytes], dontWait: Bool = false) throws -> Bool {
        let h = try open("zmq_msg_send")
        for (i, frame) in frames.enumerated() {
            var flags: Int32 = i < frames.count - 1 ? Int32(ZMQ_SNDMORE) : 0
            if dontWait { flags |= Int32(ZMQ_DONTWAIT) }
            var msg = zmq_msg_t()
            try Self.initMessage(&msg, over: frame)
            if zmq_msg_send(&msg, h, flags) < 0 {
                let err = ZMQError.last("zmq_msg_send(frame \(i) of \(frames.count))")
                zmq_msg_close(&msg)  // still ours after a failed send: releases the frame's retain
                if err.errno == EAGAIN && dontWait && i == 0 { return false }
                throw err
            }
        }
        return true
    }

    /// Sends a multipart message of byte arrays (one copy of each into zmq).
    public func send(_ frames: [[UInt8]]) throws {
        try send(frames: frames.map { FrameBytes($0) })
    }

    /// Points `msg` at `frame`'s bytes, keeping `frame` alive until zmq frees the message.
    private static func initMessage(_ msg: inout zmq_msg_t, over frame: FrameBytes) throws {
        guard frame.count > 0, let base = frame.baseAddress else {
            try ZMQError.check(zmq_msg_init(&msg), "zmq_msg_init")
            return
        }
        let hint = Unmanaged.passRetained(frame).toOpaque()
        let free: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { _, hint in
            if let hint { Unmanaged<FrameBytes>.fromOpaque(hint).release() }
        }
        if zmq_msg_init_data(&msg, UnsafeMutableRawPointer(mutating: base), frame.count, free, hint) != 0 {
            Unmanaged<FrameBytes>.fromOpaque(hint).release()
            throw ZMQError.last("zmq_msg_init_data(\(frame.count) bytes)")
        }
    }

    // MARK: - Receiving

    /// Receives one whole multipart message, each frame kept in its `zmq_msg_t` (no copy). Nil when
    /// nothing is waiting (`dontWait`) or the receive timeout passed.
    public func receiveFrames(dontWait: Bool = false) throws -> [FrameBytes]? {
        let h = try open("zmq_msg_recv")
        var frames: [FrameBytes] = []
        while true {
            let msg = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
            guard zmq_msg_init(msg) == 0 else {
                msg.deallocate()
                throw ZMQError.last("zmq_msg_init")
            }
            // Later frames of a message are already here: only the first may wait.
            let flags: Int32 = dontWait && frames.isEmpty ? Int32(ZMQ_DONTWAIT) : 0
            if zmq_msg_recv(msg, h, flags) < 0 {
                let err = ZMQError.last("zmq_msg_recv(frame \(frames.count))")
                zmq_msg_close(msg)
                msg.deallocate()
                if err.errno == EAGAIN && frames.isEmpty { return nil }
                throw err
            }
            let more = zmq_msg_more(msg) != 0
            frames.append(FrameBytes(takingReceived: msg))
            if !more { return frames }
        }
    }

    /// Receives one multipart message as byte arrays; nil when the receive timeout passed.
    public func receive() throws -> [[UInt8]]? {
        try receiveFrames()?.map(\.array)
    }
}

extension String {
    /// The text of a C buffer up to its first NUL (all of it when there is none).
    init(nulTerminated buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
