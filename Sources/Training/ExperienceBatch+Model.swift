import Tensor
import Model

/// How an experience batch meets the model: prompt and response laid end to end in one (B, T)
/// batch, the response tokens as the only targets, and per-position results gathered back into
/// the (B, R) response layout.
extension ExperienceBatch {
    /// The (B, T) model batch of prompt + response per row, right-padded with `padID` (the plain
    /// `responseLayout`). The target at position `promptLengths[b] - 1 + j` is response token j;
    /// every other position has none.
    /// - Throws: `TrainingError(.data)` when a row is longer than `maxLength` positions.
    public func modelBatch(padID: Int, maxLength: Int) throws -> ModelBatch {
        try responseLayout(padID: padID, maxLength: maxLength, sharePrompts: false).batch
    }
}

extension ExperienceBatch {
    /// log π(a_j | s_j) of every response token under `model`, (B, R), with the training forward
    /// (no dropout): what the reference role returns, and the actor's old log-probabilities.
    /// Scored a chunk of rows at a time (`ActivationPool.forEachScoringChunk`) with forward-only activations: a row's figures
    /// do not depend on the rows beside it, and the memory is a chunk's, not the batch's.
    /// - Parameters:
    ///   - temperature: the sampling temperature: log-probabilities of logits / T, so the old
    ///     policy, the new one and the reference are the distribution the samples came from.
    ///   - sharePrompts: run each prompt's answers packed in one row (`responseLayout`).
    public func logProbs(under model: Llama, pool: ActivationPool, padID: Int, temperature: Double = 1,
                         sharePrompts: Bool = true) throws -> [Float] {
        let layout = try responseLayout(padID: padID, maxLength: model.config.maxPositionEmbeddings, sharePrompts: sharePrompts)
        let mb = layout.batch
        var all = [Float](repeating: 0, count: mb.B * mb.T)
        pool.forEachScoringChunk(mb) { rows, chunk, acts in
            TemperedLanguageModel.forward(model, chunk, acts, temperature: temperature)
            all.withUnsafeMutableBufferPointer { $0.baseAddress!.advanced(by: rows.lowerBound * mb.T).update(from: acts.logprobs.pointer, count: chunk.B * chunk.T) }
        }
        return all.withUnsafeBufferPointer { layout.gather($0.baseAddress!) }
    }

    /// Checks what came from outside the process before any model reads it: every array the
    /// size its shape says, lengths within their widths, ids inside the vocabulary.
    /// - Throws: `TrainingError(.data)` naming the field and row at fault.
    public func validate(vocabSize: Int) throws {
        func fail(_ m: String) -> TrainingError { TrainingError(.data, "experience batch \(batchID): \(m)") }
        guard B >= 0, promptWidth >= 0, responseWidth >= 0, groupSize >= 1 else { throw fail("negative shape or group size") }
        guard B % groupSize == 0 else { throw fail("\(B) rows do not make whole groups of \(groupSize) answers per prompt") }
        guard promptLengths.count == B, responseLengths.count == B, ended.count == B, scores.count == B else {
            throw fail("per-row fields must have \(B) entries")
        }
        guard prompts.count == B * promptWidth, responses.count == B * responseWidth else {
            throw fail("prompts/responses must be (\(B), \(promptWidth)) and (\(B), \(responseWidth))")
        }
        for (name, path) in zip(ExperienceBatch.perTokenFieldNames, ExperienceBatch.perTokenFields) where self[keyPath: path].count != B * responseWidth {
            throw fail("\(name) has \(self[keyPath: path].count) values, expected \(B) x \(responseWidth)")
        }
        for b in 0..<B {
            let p = Int(promptLengths[b]), r = Int(responseLengths[b])
            guard p >= 1 && p <= promptWidth else { throw fail("row \(b): prompt length \(p) outside 1...\(promptWidth)") }
            guard r >= 0 && r <= responseWidth else { throw fail("row \(b): response length \(r) outside 0...\(responseWidth)") }
            for t in prompt(b) + response(b) where t < 0 || Int(t) >= vocabSize {
                throw fail("row \(b): token id \(t) outside the vocabulary of \(vocabSize)")
            }
        }
    }
}

extension ExperienceBatch {
    /// The rows of each optimizer update: `epochs` passes over the batch, each cut into
    /// mini-batches of `size` rows, in order or in a random order seeded by the batch id and the
    /// pass (so every run, and every placement of the roles, updates on the same rows). Each
    /// mini-batch's rows are in ascending order: its loss is a sum over them, so the order is
    /// free, and ascending puts the answers of one prompt side by side, where they pack
    /// (`responseLayout`).
    public func miniBatches(size: Int, epochs: Int, shuffle: Bool) -> [[Int]] {
        let size = max(1, min(size, B))
        var out: [[Int]] = []
        for epoch in 0..<max(1, epochs) {
            var order = Array(0..<B)
            if shuffle {
                var rng = SplitMix64(seed: batchID &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(epoch) &* 0xD1B5_4A32_D192_ED03)
                var i = B - 1
                while i > 0 {
                    order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
                    i -= 1
                }
            }
            for start in stride(from: 0, to: B, by: size) { out.append(order[start..<min(start + size, B)].sorted()) }
        }
        return out
    }
}

/// The training forward and backward at a sampling temperature T: the LM head reads the final
/// hidden state divided by T, so its logits are logits / T (trl scales its logits the same way),
/// and the backward scales the hidden state's gradient by 1 / T on the way back. At T = 1 these
/// are exactly the plain passes.
public enum TemperedLanguageModel {
    public static func forward(_ model: Llama, _ batch: ModelBatch, _ acts: TrainingActivations, temperature: Double) {
        guard temperature != 1 else { return Evaluation.runLanguageModel(model, batch, acts) }
        model.forward(ids: batch.ids, acts: acts, packing: batch.packing)
        // The final norm's backward reads its input and rstd, not this output: scaling it in place is safe.
        scale(acts.hidden, by: Float(1 / temperature), count: batch.B * batch.T * model.config.hiddenSize)
        model.languageModelForward(targets: batch.targets, acts: acts, keepLogits: false)
    }

    public static func backward(_ model: Llama, dlogprobs: UnsafePointer<Float>, _ batch: ModelBatch, _ acts: TrainingActivations,
                         temperature: Double) {
        model.languageModelBackward(dlogprobs: dlogprobs, targets: batch.targets, acts: acts)
        if temperature != 1 {
            scale(acts.dHidden, by: Float(1 / temperature), count: batch.B * batch.T * model.config.hiddenSize)
        }
        model.backward(acts: acts)
    }

    private static func scale(_ buffer: FloatBuffer, by factor: Float, count: Int) {
        let p = buffer.pointer
        for i in 0..<count { p[i] *= factor }
    }
}
