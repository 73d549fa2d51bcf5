import Foundation

/// Writing a file of a model directory so that a crash never leaves half of it: the bytes go to
/// a temporary file beside it, which is then renamed over the old one.
enum AtomicFileWrite {
    static func write(_ data: Data, to path: String, what: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let temporary = (directory as NSString).appendingPathComponent(".\(name).tmp-\(getpid())")
        do {
            try data.write(to: URL(fileURLWithPath: temporary))
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw TokenizerError("\(path): could not write \(what): \(error.localizedDescription)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw TokenizerError("\(path): could not write \(what): \(reason)")
        }
    }

    /// Copies `source` over `path` the same way.
    static func copy(_ source: String, to path: String) throws {
        guard let data = FileManager.default.contents(atPath: source) else {
            throw TokenizerError("\(source): cannot read it to copy it to \(path)")
        }
        try write(data, to: path, what: "a copy of \(source)")
    }
}
