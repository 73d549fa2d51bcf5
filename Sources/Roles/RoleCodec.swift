import Training

/// Requests and replies to and from `RolePayload`: experience batches as (B, P), (B, R) tensors,
/// ragged prompt lists as values plus lengths. Decoding checks every count against the shape
/// the scalars declare, so a hostile or truncated payload is refused with the field named.
public enum RoleCodec {
    /// Limits on what a payload may declare, so a hostile one cannot make us allocate wildly.
    static let maxRows = 1 << 16, maxWidth = 1 << 16, maxElements = 1 << 28
    /// Values of one policy's weights in all (`weights` replies): 2^36, 256 GiB of float32.
    static let maxWeightValues = 1 << 36

    // MARK: - Requests

    public static func encode(_ request: RoleRequest) -> RolePayload {
        var p = RolePayload(kind: request.kind)
        switch request {
        case .generate(let r), .sample(let r):
            p.integers = ["batch_id": Int(truncatingIfNeeded: r.batchID), "iteration": r.iteration,
                          "samples_per_prompt": r.samplesPerPrompt, "policy_version": r.policyVersion,
                          "seed": Int(truncatingIfNeeded: r.seed), "first_row": r.firstRow]
            putRagged(r.prompts, as: "prompts", into: &p)
        case .policyLogProbs(let b, let version):
            putBatch(b, into: &p, full: false)
            p.integers["logprob_version"] = version
        case .weights(let version, let chunk):
            p.integers = ["version": version, "chunk": chunk]
        case .answer(let prompts, let maxNewTokens, let version):
            p.integers["max_new_tokens"] = maxNewTokens
            p.integers["policy_version"] = version
            putRagged(prompts, as: "prompts", into: &p)
        case .referenceLogProbs(let b):
            putBatch(b, into: &p, full: false)
        case .values(let b, let version):
            putBatch(b, into: &p, full: false)
            p.integers["value_version"] = version
        case .score(let b, let texts):
            putBatch(b, into: &p, full: false)
            let utf8 = texts.map { Array($0.utf8) }
            p.arrays["texts"] = .u8(utf8.flatMap { $0 }, shape: [utf8.reduce(0) { $0 + $1.count }])
            p.arrays["texts_lengths"] = .i32(utf8.map { Int32($0.count) }, shape: [utf8.count])
        case .trainPolicy(let b), .trainValue(let b):
            putBatch(b, into: &p, full: true)
        case .save(.checkpoint(let i)):
            p.strings["target"] = "checkpoint"
            p.integers["iteration"] = i
        case .save(.final):
            p.strings["target"] = "final"
        case .restore(let i):
            p.integers["iteration"] = i
        case .finish(let succeeded, let reason):
            p.integers["succeeded"] = succeeded ? 1 : 0
            p.strings["reason"] = reason
        case .keepAlive:
            break
        }
        return p
    }

    public static func decodeRequest(_ p: RolePayload) throws -> RoleRequest {
        switch p.kind {
        case "generate", "sample":
            let r = GenerateRequest(
                batchID: UInt64(truncatingIfNeeded: try p.integer("batch_id")), iteration: try p.integer("iteration"),
                prompts: try ragged("prompts", p), samplesPerPrompt: try p.integer("samples_per_prompt"),
                seed: UInt64(truncatingIfNeeded: try p.integer("seed")), policyVersion: try p.integer("policy_version"),
                firstRow: try p.integer("first_row"))
            guard (0...maxRows).contains(r.firstRow) else { throw RoleError(.badInput, "\(p.kind): first_row \(r.firstRow) is out of bounds") }
            return p.kind == "sample" ? .sample(r) : .generate(r)
        case "policy_logprobs": return .policyLogProbs(try batch(p, full: false), version: try p.integer("logprob_version"))
        case "weights":
            try onlyFields(p, strings: [], integers: ["version", "chunk"])
            return .weights(version: try p.integer("version"), chunk: try p.integer("chunk"))
        case "answer":
            return .answer(prompts: try ragged("prompts", p), maxNewTokens: try p.integer("max_new_tokens"),
                           policyVersion: try p.integer("policy_version"))
        case "reference_logprobs": return .referenceLogProbs(try batch(p, full: false))
        case "values": return .values(try batch(p, full: false), version: try p.integer("value_version"))
        case "score":
            let b = try batch(p, full: false)
            let lengths = try p.ints("texts_lengths", count: b.B)
            guard case .u8(let bytes, _)? = p.arrays["texts"], lengths.allSatisfy({ $0 >= 0 }),
                  lengths.reduce(0, { $0 + Int($1) }) == bytes.count else {
                throw RoleError(.badInput, "score: texts missing, or texts_lengths do not add up to its bytes")
            }
            var texts: [String] = [], at = 0
            for n in lengths {
                texts.append(String(decoding: bytes[at..<(at + Int(n))], as: UTF8.self))
                at += Int(n)
            }
            return .score(b, texts: texts)
        case "train_policy": return .trainPolicy(try batch(p, full: true))
        case "train_value": return .trainValue(try batch(p, full: true))
        case "save":
            try onlyFields(p, strings: ["target"], integers: ["iteration"])
            switch try p.string("target") {
            case "checkpoint": return .save(.checkpoint(iteration: try p.integer("iteration")))
            case "final": return .save(.final)
            case let other: throw RoleError(.badInput, "save: target \(other.prefix(40)) is neither checkpoint nor final")
            }
        case "restore":
            try onlyFields(p, strings: [], integers: ["iteration"])
            return .restore(iteration: try p.integer("iteration"))
        case "keep_alive":
            try onlyFields(p, strings: [], integers: [])
            return .keepAlive
        case "finish":
            try onlyFields(p, strings: ["reason"], integers: ["succeeded"])
            return .finish(succeeded: try p.integer("succeeded") != 0, reason: String(try p.string("reason").prefix(2000)))
        default: throw RoleError(.badInput, "unknown request kind \(p.kind.prefix(40))")
        }
    }

    // MARK: - Replies

    public static func encode(_ reply: RoleReply) -> RolePayload {
        var p: RolePayload
        switch reply {
        case .experiences(let b):
            p = RolePayload(kind: "experiences")
            putBatch(b, into: &p, full: true)
        case .perToken(let v):
            p = RolePayload(kind: "per_token")
            p.arrays["values"] = .f32(v, shape: [v.count])
        case .scores(let v):
            p = RolePayload(kind: "scores")
            p.arrays["values"] = .f32(v, shape: [v.count])
        case .trained(let metrics, let version, let digests):
            p = RolePayload(kind: "trained")
            p.numbers = metrics
            p.integers["version"] = version
            // Names as one newline-separated string (tensor names hold no newline), values as
            // 8 little-endian bytes each.
            p.strings["digest_names"] = digests.map(\.name).joined(separator: "\n")
            p.arrays["digests"] = .u8(digests.flatMap { d in (0..<8).map { UInt8(truncatingIfNeeded: d.value >> (8 * $0)) } },
                                      shape: [digests.count * 8])
        case .responses(let r):
            p = RolePayload(kind: "responses")
            putRagged(r, as: "responses", into: &p)
        case .rollout(let r):
            p = RolePayload(kind: "rollout")
            putRagged(r.responses, as: "responses", into: &p)
            p.arrays["behaviour_logprobs"] = .f32(r.behaviourLogProbs.flatMap { $0 }, shape: [r.behaviourLogProbs.reduce(0) { $0 + $1.count }])
            p.arrays["ended"] = .u8(r.ended.map { $0 ? 1 : 0 }, shape: [r.ended.count])
            p.integers["pad_id"] = Int(r.padID)
        case .weights(let w):
            p = RolePayload(kind: "weights")
            p.integers = ["version": w.version, "index": w.index, "count": w.count, "total": w.total,
                          "adapters_only": w.adaptersOnly ? 1 : 0, "checksum": Int(truncatingIfNeeded: w.checksum)]
            p.arrays["values"] = .f32(w.values, shape: [w.values.count])
            p.numbers["waited_s"] = w.waitedSeconds
        case .done:
            p = RolePayload(kind: "done")
        }
        return p
    }

    public static func decodeReply(_ p: RolePayload) throws -> RoleReply {
        switch p.kind {
        case "experiences": return .experiences(try batch(p, full: true))
        case "per_token", "scores":
            guard case .f32(let v, _)? = p.arrays["values"], v.count <= maxElements else {
                throw RoleError(.badInput, "\(p.kind): values missing or not float32")
            }
            return p.kind == "scores" ? .scores(v) : .perToken(v)
        case "trained": return .trained(metrics: p.numbers, version: try p.integer("version"), digests: try digests(p))
        case "responses": return .responses(try ragged("responses", p))
        case "rollout":
            let responses = try ragged("responses", p)
            let flat = try p.floats("behaviour_logprobs", count: responses.reduce(0) { $0 + $1.count })
            var logProbs: [[Float]] = [], at = 0
            for r in responses {
                logProbs.append(Array(flat[at..<(at + r.count)]))
                at += r.count
            }
            let ended = try p.bytes("ended", count: responses.count)
            guard let pad = Int32(exactly: try p.integer("pad_id")) else { throw RoleError(.badInput, "rollout: pad_id is not a token id") }
            return .rollout(RolloutPart(responses: responses, behaviourLogProbs: logProbs, ended: ended.map { $0 != 0 }, padID: pad))
        case "weights":
            let count = try p.integer("count"), total = try p.integer("total"), index = try p.integer("index")
            // A whole model's block may be far larger than one message may carry (a 7B policy is
            // 7e9 values); each chunk is bounded by `chunkValues` below, and the block's size
            // must agree with its chunk count.
            guard (1...maxElements).contains(count), (0...maxWeightValues).contains(total), (0..<count).contains(index),
                  total <= count * WeightsChunk.chunkValues else {
                throw RoleError(.badInput, "weights: chunk \(index) of \(count), \(total) values in all, is out of bounds")
            }
            guard case .f32(let v, _)? = p.arrays["values"], v.count <= WeightsChunk.chunkValues else {
                throw RoleError(.badInput, "weights: values missing, not float32, or more than a chunk")
            }
            var chunk = WeightsChunk(version: try p.integer("version"), index: index, count: count, total: total,
                                     adaptersOnly: try p.integer("adapters_only") != 0,
                                     checksum: UInt64(truncatingIfNeeded: try p.integer("checksum")), values: v)
            chunk.waitedSeconds = max(0, p.numbers["waited_s"] ?? 0)
            return .weights(chunk)
        case "done": return .done
        default: throw RoleError(.badInput, "unknown reply kind \(p.kind.prefix(40))")
        }
    }

    // MARK: - Pieces

    /// Refuses a payload with fields beyond `strings` and `integers`: a save or restore names an
    /// iteration, and a field such as `directory` (an older wire format, or a peer trying to
    /// choose where a role writes) is an error, not something to ignore.
    private static func onlyFields(_ p: RolePayload, strings: Set<String>, integers: Set<String>) throws {
        let extra = Set(p.strings.keys).subtracting(strings).union(Set(p.integers.keys).subtracting(integers))
            .union(p.numbers.keys).union(p.arrays.keys)
        guard extra.isEmpty else {
            throw RoleError(.badInput, "\(p.kind): unexpected field\(extra.count == 1 ? "" : "s") \(extra.sorted().map { String($0.prefix(40)) }.joined(separator: ", ")); a \(p.kind) names only an iteration (no request carries a path)")
        }
    }

    private static func digests(_ p: RolePayload) throws -> [TensorDigest] {
        let names = (p.strings["digest_names"] ?? "").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let count = names == [""] ? 0 : names.count
        let bytes = count == 0 ? [] : try p.bytes("digests", count: count * 8)
        return (0..<count).map { i in
            TensorDigest(name: names[i], value: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[8 * i + $1]) << (8 * $1) })
        }
    }

    private static func putRagged(_ rows: [[Int32]], as name: String, into p: inout RolePayload) {
        p.arrays[name] = .i32(rows.flatMap { $0 }, shape: [rows.reduce(0) { $0 + $1.count }])
        p.arrays[name + "_lengths"] = .i32(rows.map { Int32($0.count) }, shape: [rows.count])
    }

    private static func ragged(_ name: String, _ p: RolePayload) throws -> [[Int32]] {
        let lengths = try p.ints(name + "_lengths")
        let values = try p.ints(name)
        guard lengths.allSatisfy({ $0 >= 0 }), lengths.reduce(0, { $0 + Int($1) }) == values.count else {
            throw RoleError(.badInput, "\(p.kind): \(name)_lengths do not add up to the \(values.count) values of \(name)")
        }
        var out: [[Int32]] = []
        var at = 0
        for n in lengths {
            out.append(Array(values[at..<(at + Int(n))]))
            at += Int(n)
        }
        return out
    }

    /// The token fields always travel; `full` adds every per-token float field and the scores.
    private static func putBatch(_ b: ExperienceBatch, into p: inout RolePayload, full: Bool) {
        p.integers["batch_id"] = Int(truncatingIfNeeded: b.batchID)
        p.integers["iteration"] = b.iteration
        p.integers["policy_version"] = b.policyVersion
        p.integers["rows"] = b.B
        p.integers["prompt_width"] = b.promptWidth
        p.integers["response_width"] = b.responseWidth
        p.integers["group_size"] = b.groupSize
        if b.scoringLength > 0 { p.integers["scoring_length"] = b.scoringLength }
        p.arrays["prompt_lengths"] = .i32(b.promptLengths, shape: [b.B])
        p.arrays["prompts"] = .i32(b.prompts, shape: [b.B, b.promptWidth])
        p.arrays["response_lengths"] = .i32(b.responseLengths, shape: [b.B])
        p.arrays["responses"] = .i32(b.responses, shape: [b.B, b.responseWidth])
        p.arrays["ended"] = .u8(b.ended, shape: [b.B])
        guard full else { return }
        p.arrays["scores"] = .f32(b.scores, shape: [b.B])
        for (name, path) in zip(ExperienceBatch.perTokenFieldNames, ExperienceBatch.perTokenFields) {
            p.arrays[name] = .f32(b[keyPath: path], shape: [b.B, b.responseWidth])
        }
    }

    private static func batch(_ p: RolePayload, full: Bool) throws -> ExperienceBatch {
        let B = try p.integer("rows"), P = try p.integer("prompt_width"), R = try p.integer("response_width")
        let groupSize = try p.integer("group_size")
        guard (0...maxRows).contains(B), (1...maxWidth).contains(P), (0...maxWidth).contains(R), groupSize >= 1,
              B * max(P, R) <= maxElements else {
            throw RoleError(.badInput, "\(p.kind): a batch of \(B) rows, prompt width \(P), response width \(R), group size \(groupSize) is out of bounds")
        }
        var b = ExperienceBatch(batchID: UInt64(truncatingIfNeeded: try p.integer("batch_id")), iteration: try p.integer("iteration"),
                                policyVersion: try p.integer("policy_version"), B: B, promptWidth: P, responseWidth: R,
                                groupSize: groupSize)
        let scoringLength = p.integers["scoring_length"] ?? 0
        // A packed row is at most packedLengthFactor times its longest prompt + response.
        let longestLayout = ExperienceBatch.packedLengthFactor * (P + R)
        guard (0...longestLayout).contains(scoringLength) else {
            throw RoleError(.badInput, "\(p.kind): scoring_length \(scoringLength) is outside 0...\(longestLayout) (\(ExperienceBatch.packedLengthFactor) x (prompt width + response width))")
        }
        b.scoringLength = scoringLength
        b.promptLengths = try p.ints("prompt_lengths", count: B)
        b.prompts = try p.ints("prompts", count: B * P)
        b.responseLengths = try p.ints("response_lengths", count: B)
        b.responses = try p.ints("responses", count: B * R)
        b.ended = try p.bytes("ended", count: B)
        guard full else { return b }
        b.scores = try p.floats("scores", count: B)
        for (name, path) in zip(ExperienceBatch.perTokenFieldNames, ExperienceBatch.perTokenFields) {
            b[keyPath: path] = try p.floats(name, count: B * R)
        }
        return b
    }
}
