import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Reading: memory-mapped files

/// A read-only memory map of a whole file. Mapping (rather than reading into a buffer) lets a
/// multi-gigabyte checkpoint be converted tensor by tensor with only the page cache behind it, so
/// loading does not hold the file's bytes and the converted floats in memory at once.
///
/// Not Sendable: it lives inside one read call. If another process truncates the file while it
/// is mapped, touching the lost pages raises SIGBUS; checkpoints are written by rename, never in
/// place, so a file we map is not truncated under us by our own writers.
final class MappedFile {
    let path: String
    let bytes: UnsafeRawBufferPointer

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code: CheckpointError.Code = errno == ENOENT ? .notFound : .ioFailure
            throw CheckpointError(code, path: path, "cannot open: \(systemError())")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw CheckpointError(.ioFailure, path: path, "cannot stat: \(systemError())")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError(.invalidValue, path: path, "is not a regular file")
        }
        let size = Int(info.st_size)
        guard size > 0 else {
            // mmap refuses a zero length; an empty buffer is what the format checks expect.
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0),
              base != UnsafeMutableRawPointer(bitPattern: -1)
        else {
            throw CheckpointError(.ioFailure, path: path, "cannot map \(size) bytes: \(systemError())")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    /// Gives back the whole pages inside `range` (a part of `bytes` already read): they leave
    /// this process's resident memory, and a later read would fault them in again from the file.
    func release(_ range: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, let start = range.baseAddress, range.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let offset = start - base
        let first = (offset + page - 1) / page * page, last = (offset + range.count) / page * page
        guard last > first else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + first), last - first, Int32(MADV_DONTNEED))
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}

// MARK: - Writing: temporary file, fsync, rename

/// Appends bytes to an open file descriptor, retrying short writes and EINTR.
struct FileSink {
    let fd: Int32
    /// The destination the caller asked for, named in errors (not the temporary name).
    let path: String

    func write(_ buffer: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < buffer.count {
            let written = posixWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw CheckpointError(.ioFailure, path: path, "write failed: \(systemError())")
            }
            offset += written
        }
    }

    func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }
}

/// The C `write`, under a name that `FileSink.write` does not shadow.
@inline(__always)
private func posixWrite(_ fd: Int32, _ buf: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buf, count)
}

/// Writes whole files so that a reader (or a crash) sees either the old file or the complete new
/// one, never a torn mix: the bytes go to a temporary file in the destination's directory (same
/// file system, so `rename` is atomic), are fsynced, and then renamed over the destination.
public enum AtomicFile {
    /// - Parameter mode: the file's permissions, set when the temporary file is created (so a
    ///   secret written with 0o600 is never readable by others, not even before the rename).
    static func write(to path: String, mode: mode_t = 0o644, _ body: (FileSink) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CheckpointError(.notFound, path: path, "directory \(directory) does not exist")
        }
        let temporary = "\(directory)/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw CheckpointError(.ioFailure, path: path, "cannot create temporary file \(temporary): \(systemError())")
        }
        var isOpen = true
        var renamed = false
        defer {
            if isOpen { close(fd) }
            if !renamed { unlink(temporary) }
        }
        try body(FileSink(fd: fd, path: path))
        guard fsync(fd) == 0 else {
            throw CheckpointError(.ioFailure, path: path, "fsync failed: \(systemError())")
        }
        isOpen = false
        guard close(fd) == 0 else {
            throw CheckpointError(.ioFailure, path: path, "close failed: \(systemError())")
        }
        guard rename(temporary, path) == 0 else {
            throw CheckpointError(.ioFailure, path: path, "cannot rename \(temporary) into place: \(systemError())")
        }
        renamed = true
        // The rename itself is durable only once the directory entry is flushed. Some file
        // systems refuse fsync on a directory; the file is complete either way, so that is ignored.
        let directoryFD = open(directory, O_RDONLY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// Writes `data` to `path` atomically, the file created with `mode`.
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o644) throws {
        try write(to: path, mode: mode) { try $0.write(data) }
    }

    /// Writes `object` as pretty, key-sorted JSON (as transformers and PEFT write their configs)
    /// to `name` inside `dir`, creating the directory if needed. `what` names the content in errors.
    static func writeJSON(_ object: Any, named name: String, inDirectory dir: String, what: String) throws {
        let path = (dir as NSString).appendingPathComponent(name)
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError(.ioFailure, path: dir, "cannot create the directory: \(error.localizedDescription)")
        }
        var data: Data
        do {
            data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        } catch {
            throw CheckpointError(.invalidValue, path: path, "cannot encode the \(what): \(error)")
        }
        data.append(UInt8(ascii: "\n"))
        try write(data, to: path)
    }
}

func systemError() -> String {
    String(cString: strerror(errno))
}

// MARK: - JSON with precise field errors

/// A JSON object read with `JSONSerialization`, whose accessors say which field is wrong and what
/// type was expected, for the HF files (config.json, index json, safetensors headers) that
/// Codable would only describe as "data corrupted".
struct JSONObject {
    let values: [String: Any]
    let path: String
    /// Prefix for nested objects, so errors name `rope_scaling.rope_type` rather than `rope_type`.
    let prefix: String

    /// Parses `data` as a JSON object; `what` names the document in the error ("config", "header").
    static func parse(_ data: Data, path: String, what: String) throws -> JSONObject {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw CheckpointError(.malformed, path: path, "\(what) is not valid JSON (\(error.localizedDescription))")
        }
        guard let values = parsed as? [String: Any] else {
            throw CheckpointError(.malformed, path: path, "\(what) should be a JSON object, found \(describe(parsed))")
        }
        return JSONObject(values: values, path: path, prefix: "")
    }

    var keys: [String] { Array(values.keys) }

    func name(_ key: String) -> String { prefix + key }

    /// The value, or nil when the key is absent or null (HF writes null for "use the default").
    func value(_ key: String) -> Any? {
        guard let value = values[key], !(value is NSNull) else { return nil }
        return value
    }

    func wrongType(_ key: String, _ expected: String, _ found: Any) -> CheckpointError {
        CheckpointError(.invalidValue, path: path, field: name(key), "expected \(expected), found \(describe(found))")
    }

    func missing(_ key: String) -> CheckpointError {
        CheckpointError(.missing, path: path, field: name(key), "required field is missing")
    }

    func int(_ key: String) throws -> Int? {
        guard let raw = value(key) else { return nil }
        guard let result = jsonInt(raw) else { throw wrongType(key, "an integer", raw) }
        return result
    }

    func requiredInt(_ key: String) throws -> Int {
        guard let result = try int(key) else { throw missing(key) }
        return result
    }

    func double(_ key: String) throws -> Double? {
        guard let raw = value(key) else { return nil }
        guard let number = raw as? NSNumber, !isBool(number) else { throw wrongType(key, "a number", raw) }
        return number.doubleValue
    }

    func bool(_ key: String) throws -> Bool? {
        guard let raw = value(key) else { return nil }
        guard let number = raw as? NSNumber, isBool(number) else { throw wrongType(key, "true or false", raw) }
        return number.boolValue
    }

    func string(_ key: String) throws -> String? {
        guard let raw = value(key) else { return nil }
        guard let result = raw as? String else { throw wrongType(key, "a string", raw) }
        return result
    }

    func object(_ key: String) throws -> JSONObject? {
        guard let raw = value(key) else { return nil }
        guard let result = raw as? [String: Any] else { throw wrongType(key, "an object", raw) }
        return JSONObject(values: result, path: path, prefix: name(key) + ".")
    }

    func array(_ key: String) throws -> [Any]? {
        guard let raw = value(key) else { return nil }
        guard let result = raw as? [Any] else { throw wrongType(key, "an array", raw) }
        return result
    }

    func intArray(_ key: String) throws -> [Int]? {
        guard let raw = try array(key) else { return nil }
        var result: [Int] = []
        for element in raw {
            guard let value = jsonInt(element) else {
                throw wrongType(key, "an array of integers", raw)
            }
            result.append(value)
        }
        return result
    }
}

/// An integer JSON number as Int; nil for booleans, fractions and anything out of Int's range.
func jsonInt(_ raw: Any) -> Int? {
    guard let number = raw as? NSNumber, !isBool(number) else { return nil }
    switch String(cString: number.objCType) {
    case "d", "f":
        // "64.0" is not an integer field in any file transformers writes; refuse it.
        return nil
    case "Q":
        return Int(exactly: number.uint64Value)
    default:
        return Int(exactly: number.int64Value)
    }
}

/// JSONSerialization hands booleans back as NSNumbers that also cast to Int; their ObjC type
/// ('c', char) is what tells them apart from integers on both Darwin and Linux Foundation.
func isBool(_ number: NSNumber) -> Bool {
    String(cString: number.objCType) == "c"
}

/// How a JSON value reads in an error message.
func describe(_ value: Any) -> String {
    switch value {
    case is NSNull: return "null"
    case let string as String:
        let shown = string.count > 40 ? String(string.prefix(40)) + "..." : string
        return "a string (\"\(shown)\")"
    case let number as NSNumber:
        return isBool(number) ? "a boolean (\(number.boolValue))" : "a number (\(number))"
    case let array as [Any]: return "an array of \(array.count) element\(array.count == 1 ? "" : "s")"
    case is [String: Any]: return "an object"
    default: return "a \(type(of: value))"
    }
}
