import Foundation
import Messaging

/// Endpoints of each transport for tests, and an echo service.
enum TestEndpoints {
    static let echo = MessageKind(rawValue: 20)
    static let silent = MessageKind(rawValue: 21)
    static let fail = MessageKind(rawValue: 22)

    /// A fresh bind address per transport: a unique inproc name, a socket file in a new temporary
    /// directory (short, under the 107-byte limit of a Unix socket path), a system-chosen tcp port.
    static func bindAddress(_ transport: String) throws -> String {
        switch transport {
        case "inproc": return "inproc://test-\(UUID().uuidString)"
        case "ipc":
            let dir = "/tmp/rlhf-msg-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            return "ipc://\(dir)/s"
        default: return "tcp://127.0.0.1:*"
        }
    }

    /// Removes the temporary directory of an `ipc://` address made by `bindAddress` (no-op otherwise).
    static func cleanUp(_ address: String) {
        guard address.hasPrefix("ipc:///tmp/rlhf-msg-") else { return }
        try? FileManager.default.removeItem(atPath: (String(address.dropFirst("ipc://".count)) as NSString).deletingLastPathComponent)
    }

    /// Answers `echo` with the same metadata and tensors, never answers `silent`, answers `fail`
    /// with an application error. Runs until the server's stream ends.
    static func serve(_ server: MessageServer) -> Task<Void, Never> {
        Task.detached {
            for await request in server.requests {
                let m = request.message
                switch m.kind {
                case echo: try? request.reply(Message(kind: echo, policyVersion: m.envelope.policyVersion, metadata: m.metadata, tensors: m.tensors))
                case fail: request.replyError(code: 123, text: "refused on purpose")
                default: break
                }
            }
        }
    }
}
