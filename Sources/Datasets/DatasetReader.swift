import Foundation

/// Reads JSON and JSONL files, or directories of them, into normalized records.
///
/// - `.jsonl` / `.ndjson`: one record per line; blank lines are ignored; line numbers are exact.
/// - `.json`: an array of records, or an object whose `data` (else `train`) field is that array;
///   each record's line is where its element starts. A `.json` file that holds JSON lines (as
///   `datasets.Dataset.to_json` writes) is read as JSON lines.
/// - a directory: its `.json`, `.jsonl` and `.ndjson` files sorted by name (not recursive).
///
/// Each file's format is `format` when set, else detected from the fields of its first record
/// that fits any format. A bad record stops the read with a `DatasetError` naming file, line and
/// field; with `skipBadRecords` it is left out and listed in `RecordSet.skipped` instead.
/// A `.json` file that is not valid JSON as a whole cannot be read record by record, so its
/// syntax error always stops the read.
public struct DatasetReader: Sendable {
    /// The format of every file, or nil to detect it per file.
    public var format: DatasetFormat?
    /// Skip bad records (and report them) instead of stopping at the first.
    public var skipBadRecords: Bool

    /// - Parameters:
    ///   - format: the format to assume (`--format`), or nil to detect.
    ///   - skipBadRecords: skip and report bad records instead of failing.
    public init(format: DatasetFormat? = nil, skipBadRecords: Bool = false) {
        self.format = format
        self.skipBadRecords = skipBadRecords
    }

    /// File name endings read from directories.
    public static let extensions = ["json", "jsonl", "ndjson"]

    /// Reads a file or a directory.
    ///
    /// - Parameter path: a `.json`/`.jsonl` file or a directory of them.
    /// - Throws: `DatasetError` for a missing path, an empty result, an undetectable format, or
    ///   (without `skipBadRecords`) the first bad record.
    public func read(_ path: String) throws -> RecordSet {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DatasetError(.fileNotFound, file: path, expected: "a .json or .jsonl file, or a directory of them")
        }
        let files: [String]
        if isDirectory.boolValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: path)
            files = names.filter { DatasetReader.extensions.contains(($0 as NSString).pathExtension.lowercased()) }
                .sorted().map { (path as NSString).appendingPathComponent($0) }
        } else {
            files = [path]
        }
        var result = RecordSet(records: [], skipped: [], files: [])
        for file in files {
            let part = try readFile(file)
            result.records += part.records
            result.skipped += part.skipped
            result.files += part.files
        }
        guard !result.records.isEmpty else {
            let what = isDirectory.boolValue && files.isEmpty
                ? "no .json, .jsonl or .ndjson files in the directory"
                : "no records" + (result.skipped.isEmpty ? "" : " (\(result.skipped.count) bad records skipped)")
            throw DatasetError(.noRecords, file: path, expected: "at least one record", got: what)
        }
        return result
    }

    private func readFile(_ file: String) throws -> RecordSet {
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
        } catch {
            throw DatasetError(.fileNotFound, file: file, expected: "a readable file", got: "\(error.localizedDescription)")
        }
        let elements = try RawRecords.split(bytes, file: file)
        if elements.isEmpty {
            return RecordSet(records: [], skipped: [], files: [
                FileSummary(path: file, format: self.format, formatWasNamed: self.format != nil, records: 0, skipped: 0)])
        }
        let format = try self.format ?? detectFormat(elements, file: file)
        let parser = RecordParser(format: format)
        var records: [DatasetRecord] = []
        var skipped: [SkippedRecord] = []
        records.reserveCapacity(elements.count)
        for (number, element) in elements.enumerated() {
            let source = SourceLocation(file: file, line: element.line, record: number + 1)
            do {
                switch element.value {
                case .success(let value): records.append(try parser.parse(value, at: source))
                case .failure(let syntax):
                    throw DatasetError(.invalidJSON, file: file, line: element.line, column: syntax.column,
                                       expected: syntax.expected, got: syntax.got)
                }
            } catch let error as DatasetError where skipBadRecords {
                skipped.append(SkippedRecord(error, line: element.line))
            }
        }
        let summary = FileSummary(path: file, format: format, formatWasNamed: self.format != nil,
                                  records: records.count, skipped: skipped.count)
        return RecordSet(records: records, skipped: skipped, files: [summary])
    }

    /// The format of the first object that fits one, or an error listing the known formats.
    private func detectFormat(_ elements: [RawRecords.Element], file: String) throws -> DatasetFormat {
        var firstObject: (fields: [String: JSONValue], line: Int)?
        for element in elements {
            guard case .success(.object(let fields)) = element.value else { continue }
            if let format = DatasetFormat.detect(fields: Set(fields.keys)) { return format }
            if firstObject == nil { firstObject = (fields, element.line) }
        }
        let got = firstObject.map { "a record with the fields " + $0.fields.keys.sorted().joined(separator: ", ") }
            ?? "no JSON object to look at"
        throw DatasetError(.unknownFormat, file: file, line: firstObject?.line,
                           expected: "the fields of one of: " + DatasetFormat.catalogue, got: got,
                           hint: "Rename the fields, or name the format with --format")
    }
}

/// What a read produced: the records, the bad ones skipped, and a summary per file.
public struct RecordSet: Sendable {
    public var records: [DatasetRecord]
    public var skipped: [SkippedRecord]
    public var files: [FileSummary]

    /// - Parameters:
    ///   - records: the records read.
    ///   - skipped: the bad records left out.
    ///   - files: what each file held.
    public init(records: [DatasetRecord], skipped: [SkippedRecord], files: [FileSummary]) {
        self.records = records
        self.skipped = skipped
        self.files = files
    }
}

/// One file of a read: its format (and whether it was detected) and its counts.
public struct FileSummary: Sendable, Equatable {
    public var path: String
    /// The records' format; nil for an empty file when none was named.
    public var format: DatasetFormat?
    /// True when `--format` named the format, false when it was detected.
    public var formatWasNamed: Bool
    public var records: Int
    public var skipped: Int
}
