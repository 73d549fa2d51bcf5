/// Pre-training sequences.
extension ExampleEncoder {
    /// Pre-training examples from text records; every document is `bos text eos`.
    ///
    /// - Parameter packing: true (the usual choice for pre-training, as in HF's `run_clm`):
    ///   documents are concatenated and cut into `maxLength`-token chunks, so no token is padding
    ///   and none is lost; the last chunk may be shorter. False: one example per document, cut at
    ///   `maxLength` from the right (counted as response truncation).
    public func textExamples(_ records: [DatasetRecord], packing: Bool) throws -> EncodedExamples<TextExample> {
        let documents = try encodeEach(records) { record, _ -> TextExample in
            guard case .text(let text) = record.content else {
                throw unsuitable(record, for: "pre-training", expected: "a text record")
            }
            var ids = try tokenizer.encode(text.text)
            if tokenizer.bosID >= 0 { ids.insert(tokenizer.bosID, at: 0) }
            if tokenizer.eosID >= 0 { ids.append(tokenizer.eosID) }
            return TextExample(ids: ids, source: record.source)
        }
        let maxLength = truncation.maxLength
        var result = EncodedExamples<TextExample>(examples: [], truncation: TruncationReport(), skipped: documents.skipped)
        if packing {
            var chunk: [Int] = []
            var chunkSource: SourceLocation?
            chunk.reserveCapacity(maxLength)
            for document in documents.examples {
                var rest = document.ids[...]
                while !rest.isEmpty {
                    if chunk.isEmpty { chunkSource = document.source }
                    let take = rest.prefix(maxLength - chunk.count)
                    chunk += take
                    rest = rest.dropFirst(take.count)
                    if chunk.count == maxLength {
                        result.examples.append(TextExample(ids: chunk, source: chunkSource!))
                        chunk.removeAll(keepingCapacity: true)
                    }
                }
            }
            if !chunk.isEmpty { result.examples.append(TextExample(ids: chunk, source: chunkSource!)) }
        } else {
            for document in documents.examples {
                if document.ids.count > maxLength {
                    result.truncation.responsesTruncated += 1
                    result.truncation.responseTokensRemoved += document.ids.count - maxLength
                }
                result.examples.append(TextExample(ids: Array(document.ids.prefix(maxLength)), source: document.source))
            }
        }
        result.truncation.examples = result.examples.count
        return result
    }
}
