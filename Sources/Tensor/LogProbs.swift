import CKernels

/// Log-softmax over the vocabulary with the target's log-probability gathered, the quantity every
/// loss here is written in (cross-entropy is -mean log p; PPO and DPO use log p directly).
public enum LogProbs {
    // logprobs: (N), lse: (N) saved; logits: (N, V); targets: (N), a negative target is ignored (logprob 0)
    // logprobs[n] = logits[n, t] - log(sum_j exp(logits[n, j]))
    public static func forward(
        logprobs: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>,
        logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, N: Int, V: Int
    ) {
        Parallel.forChunks(N, minChunk: 8) { rows in
            for n in rows {
                let row = logits + n * V
                let l = rk_logsumexp(row, V)
                lse[n] = l
                let t = Int(targets[n])
                logprobs[n] = t < 0 ? 0 : row[t] - l
            }
        }
    }

    // dlogits: (N, V) written (may alias logits); dlogprobs: (N) gradient of the loss wrt logprobs
    // dlogits[n, j] = dlogprobs[n] * (1[j == t] - softmax(logits[n])[j])
    public static func backward(
        dlogits: UnsafeMutablePointer<Float>, dlogprobs: UnsafePointer<Float>,
        logits: UnsafePointer<Float>, lse: UnsafePointer<Float>, targets: UnsafePointer<Int32>, N: Int, V: Int
    ) {
        Parallel.forChunks(N, minChunk: 8) { rows in
            for n in rows {
                let d = dlogits + n * V
                let t = Int(targets[n])
                let g = dlogprobs[n]
                if t < 0 || g == 0 {
                    d.update(repeating: 0, count: V)
                    continue
                }
                rk_logprob_backward_row(d, logits + n * V, V, lse[n], g, t)
            }
        }
    }

    /// Mean cross-entropy over the targets that are not ignored, and the matching dlogprobs
    /// (-1/count for counted rows, 0 for ignored ones). Returns (loss, count).
    public static func crossEntropy(
        dlogprobs: UnsafeMutablePointer<Float>, logprobs: UnsafePointer<Float>, targets: UnsafePointer<Int32>, N: Int
    ) -> (loss: Float, count: Int) {
        var count = 0
        var total: Double = 0
        for n in 0..<N where targets[n] >= 0 {
            count += 1
            total -= Double(logprobs[n])
        }
        let g: Float = count > 0 ? -1 / Float(count) : 0
        for n in 0..<N { dlogprobs[n] = targets[n] >= 0 ? g : 0 }
        return (count > 0 ? Float(total / Double(count)) : 0, count)
    }
}
