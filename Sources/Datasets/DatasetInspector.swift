import Tokenization

/// What `rlhf data inspect PATH` prints: the detected format, record counts, length statistics
/// and the first records rendered with the chat template.
public struct DatasetInspector: Sendable {
    public var template: ChatFormat
    /// Lengths are in tokens with a tokenizer, else in characters of the rendered text.
    public var tokenizer: (any TextTokenizer)?
    /// How many records to render.
    public var exampleCount: Int
    /// With a tokenizer: also count what training at these limits would truncate.
    public var truncation: TruncationRule?

    /// - Parameters:
    ///   - template: the chat template to render with.
    ///   - tokenizer: the model's tokenizer, or nil to measure characters.
    ///   - exampleCount: how many records to render.
    ///   - truncation: limits to count truncations against (needs a tokenizer).
    public init(template: ChatFormat, tokenizer: (any TextTokenizer)? = nil, exampleCount: Int = 3, truncation: TruncationRule? = nil) {
        self.template = template
        self.tokenizer = tokenizer
        self.exampleCount = exampleCount
        self.truncation = truncation
    }

    /// Reads `path` and measures it.
    ///
    /// - Parameters:
    ///   - path: a file or directory.
    ///   - format: the format to assume, or nil to detect.
    ///   - skipBadRecords: skip and list bad records instead of stopping at the first.
    public func inspect(_ path: String, format: DatasetFormat? = nil, skipBadRecords: Bool = false) throws -> DatasetInspection {
        let read = try DatasetReader(format: format, skipBadRecords: skipBadRecords).read(path)
        var lengths: [String: [Int]] = [:]
        for record in read.records {
            for (name, segments) in try parts(of: record) { lengths[name, default: []].append(try measure(segments)) }
        }
        let order = ["prompt", "response", "chosen", "rejected", "text", "total"]
        var inspection = DatasetInspection(
            path: path, template: template, files: read.files, recordCount: read.records.count, skipped: read.skipped,
            unit: tokenizer == nil ? "characters" : "tokens",
            lengths: order.compactMap { name in lengths[name].flatMap(LengthStatistics.init).map { (name, $0) } },
            truncation: nil,
            examples: try read.records.prefix(exampleCount).map { ($0.source, try render($0)) })
        if let tokenizer, let truncation {
            let encoder = ExampleEncoder(template: template, tokenizer: tokenizer, truncation: truncation, skipBadRecords: true)
            let records = read.records
            if records.allSatisfy({ if case .preference = $0.content { true } else { false } }) {
                inspection.truncation = try encoder.preferenceExamples(records).truncation
            } else if records.allSatisfy({ if case .text = $0.content { true } else { false } }) {
                inspection.truncation = try encoder.textExamples(records, packing: false).truncation
            } else {
                inspection.truncation = try encoder.sftExamples(records).truncation
            }
        }
        return inspection
    }

    /// The measured parts of a record, as segments: prompt and response (the last answer) of a
    /// conversation, prompt/chosen/rejected of a pair, the text of a text record, and the total.
    private func parts(of record: DatasetRecord) throws -> [(String, [ChatSegment])] {
        switch record.content {
        case .conversation(let conversation):
            let prompt = conversation.promptForLastResponse
            guard let answer = conversation.turns.last(where: { $0.role == .assistant }) else {
                return [("prompt", try template.promptSegments(prompt))]
            }
            return [("prompt", try template.promptSegments(prompt)),
                    ("response", try template.answerSegments(answer.content, after: prompt)),
                    ("total", try template.segments(conversation))]
        case .preference(let pair):
            let prompt = try template.promptSegments(pair.prompt)
            let chosen = try template.answerSegments(pair.chosen, after: pair.prompt)
            let rejected = try template.answerSegments(pair.rejected, after: pair.prompt)
            return [("prompt", prompt), ("chosen", chosen), ("rejected", rejected),
                    ("total", prompt + (chosen.count >= rejected.count ? chosen : rejected))]
        case .text(let text):
            return [("text", [ChatSegment(text: text.text, isAssistant: true)])]
        }
    }

    private func measure(_ segments: [ChatSegment]) throws -> Int {
        if let tokenizer { return try tokenizer.encode(segments).ids.count }
        return segments.reduce(0) { $0 + $1.text.count }
    }

    /// A record as training sees it.
    private func render(_ record: DatasetRecord) throws -> String {
        switch record.content {
        case .conversation(let conversation):
            try conversation.turns.contains { $0.role == .assistant } ? template.render(conversation) : template.renderPrompt(conversation)
        case .preference(let pair):
            try "[chosen]\n" + template.render(pair.prompt.appendingAssistant(pair.chosen))
                + "\n[rejected]\n" + template.render(pair.prompt.appendingAssistant(pair.rejected))
        case .text(let text):
            text.text
        }
    }
}
