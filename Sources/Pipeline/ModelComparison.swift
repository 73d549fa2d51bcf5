import Foundation
import Model
import Roles
import Tasks
import Tokenization
import Training

/// The pipeline's last step: the SFT model and the RLHF model answer the same held-out prompts
/// greedily, and each set of answers is judged three ways:
/// - rule-checked accuracy: the demo tasks' checker, as `rlhf eval sft` judges answers;
/// - the step-2 reward model's mean score of prompt + answer (the score head at the last token,
///   as the reward role scores rollouts);
/// - KL to the reference: per answer, the sum over its tokens of log p_model - log p_sft,
///   teacher-forced, averaged over answers (0 for the SFT model's own answers by definition).
/// Prompts are framed with the chat template saved with the SFT model, as step 3 frames them.
public struct ModelComparison: Sendable {
    /// One model's figures.
    public struct Figures: Codable, Sendable, Equatable {
        /// Right answers over the prompts the checker recognises; nil when it recognises none.
        public var accuracy: Double?
        public var right: Int
        public var checked: Int
        /// Mean reward-model score of the answers.
        public var meanReward: Double
        /// Mean per-answer KL to the SFT model (nats).
        public var meanKL: Double
        /// Mean answer length in tokens (the stop token included).
        public var meanAnswerTokens: Double

        enum CodingKeys: String, CodingKey {
            case accuracy, right, checked
            case meanReward = "mean_reward"
            case meanKL = "mean_kl_to_sft"
            case meanAnswerTokens = "mean_answer_tokens"
        }
    }

    /// One prompt's answers, side by side.
    public struct Sample: Codable, Sendable, Equatable {
        public var prompt: String
        public var sft: String
        public var rlhf: String
        /// `right`, `wrong`, or nil when the checker does not know the task.
        public var sftVerdict: String?
        public var rlhfVerdict: String?
        public var sftReward: Double
        public var rlhfReward: Double

        enum CodingKeys: String, CodingKey {
            case prompt, sft, rlhf
            case sftVerdict = "sft_verdict"
            case rlhfVerdict = "rlhf_verdict"
            case sftReward = "sft_reward"
            case rlhfReward = "rlhf_reward"
        }
    }

    public var prompts: Int
    public var sft: Figures
    public var rlhf: Figures
    /// Every prompt's answers (the report shows the first few).
    public var samples: [Sample]

    /// Runs the comparison.
    /// - Parameters:
    ///   - sft: the step-1 model directory (the reference of the KL, and the template and tokenizer).
    ///   - rlhf: the step-3 final actor.
    ///   - rewardModel: the step-2 reward model.
    ///   - promptsFile: held-out prompts (any format with prompts).
    ///   - settings: how many prompts, how long the answers, batch size.
    public static func run(sft sftDirectory: String, rlhf rlhfDirectory: String, rewardModel rewardDirectory: String,
                           promptsFile: String, settings: EvaluationSettings) throws -> ModelComparison {
        let sftModel = try Llama.load(directory: sftDirectory)
        let rlhfModel = try Llama.load(directory: rlhfDirectory)
        let reward = try Llama.load(directory: rewardDirectory)
        guard reward.layout.head == .score(labels: 1) else {
            throw PipelineError("\(rewardDirectory) is not a reward model (head \(reward.layout.head)); expected step 2's single-label score head")
        }
        let tokenizer = try TokenizerFiles.load(sftDirectory)
        let maxPrompt = max(1, sftModel.config.maxPositionEmbeddings - settings.maxNewTokens)
        let source = try PromptSource(file: promptsFile, modelDirectory: sftDirectory, maxPromptLength: maxPrompt, seed: 0,
                                      limit: settings.numPrompts)
        let prompts = source.prompts.map { $0.ids.map(Int.init) }

        let sftAnswers = try answers(sftModel, prompts: prompts, settings: settings, eos: tokenizer.eosID)
        let rlhfAnswers = try answers(rlhfModel, prompts: prompts, settings: settings, eos: tokenizer.eosID)
        let sftScores = try scores(reward, prompts: prompts, responses: sftAnswers, padID: tokenizer.paddingID, batchSize: settings.batchSize)
        let rlhfScores = try scores(reward, prompts: prompts, responses: rlhfAnswers, padID: tokenizer.paddingID, batchSize: settings.batchSize)
        let kl = try sequenceKL(policy: rlhfModel, reference: sftModel, prompts: prompts, responses: rlhfAnswers, batchSize: settings.batchSize)

        let checker = TaskChecker()
        var samples: [Sample] = []
        var right = (sft: 0, rlhf: 0), checked = 0
        for (i, prompt) in source.prompts.enumerated() {
            let texts = try [sftAnswers[i], rlhfAnswers[i]].map {
                try tokenizer.decodeGenerated($0.filter { $0 != tokenizer.eosID }).trimmingCharacters(in: .whitespaces)
            }
            let verdicts = texts.map { checker.check(prompt: prompt.text, response: $0) }
            if verdicts[0] != .notATask {
                checked += 1
                if verdicts[0].isCorrect { right.sft += 1 }
                if verdicts[1].isCorrect { right.rlhf += 1 }
            }
            func word(_ v: TaskVerdict) -> String? { v == .notATask ? nil : (v.isCorrect ? "right" : "wrong") }
            samples.append(Sample(prompt: prompt.text, sft: texts[0], rlhf: texts[1], sftVerdict: word(verdicts[0]),
                                  rlhfVerdict: word(verdicts[1]), sftReward: Double(sftScores[i]), rlhfReward: Double(rlhfScores[i])))
        }
        func figures(_ right: Int, _ answers: [[Int]], _ scores: [Float], _ kl: [Double]) -> Figures {
            Figures(accuracy: checked > 0 ? Double(right) / Double(checked) : nil, right: right, checked: checked,
                    meanReward: mean(scores.map(Double.init)), meanKL: mean(kl), meanAnswerTokens: mean(answers.map { Double($0.count) }))
        }
        return ModelComparison(prompts: prompts.count,
                               sft: figures(right.sft, sftAnswers, sftScores, Array(repeating: 0, count: prompts.count)),
                               rlhf: figures(right.rlhf, rlhfAnswers, rlhfScores, kl), samples: samples)
    }

    /// Greedy answers, `batchSize` prompts at a time; each keeps its stop token when it has one.
    static func answers(_ model: Llama, prompts: [[Int]], settings: EvaluationSettings, eos: Int) throws -> [[Int]] {
        let generator = Generator(model: model)
        var out: [[Int]] = []
        for start in stride(from: 0, to: prompts.count, by: settings.batchSize) {
            let batch = Array(prompts[start..<min(start + settings.batchSize, prompts.count)])
            out += try generator.generate(prompts: batch, maxNewTokens: settings.maxNewTokens, stopTokens: [eos]).newTokens
        }
        return out
    }

    /// The reward model's score of each prompt + response, as the reward role computes it.
    static func scores(_ model: Llama, prompts: [[Int]], responses: [[Int]], padID: Int, batchSize: Int) throws -> [Float] {
        let pool = ActivationPool(model: model)
        var out: [Float] = []
        for start in stride(from: 0, to: prompts.count, by: batchSize) {
            let range = start..<min(start + batchSize, prompts.count)
            let batch = ExperienceBatch(prompts: prompts[range].map { $0.map(Int32.init) }, responses: responses[range].map { $0.map(Int32.init) },
                                        padID: Int32(padID))
            let mb = try batch.modelBatch(padID: padID, maxLength: model.config.maxPositionEmbeddings)
            let acts = pool.scoringActivations(B: mb.B, T: mb.T)
            model.forward(ids: mb.ids, acts: acts)
            out += model.scoreForward(lengths: mb.lengths, acts: acts)
        }
        return out
    }

    /// Per response: Σ_t log π(y_t) - log π_ref(y_t), both teacher-forced.
    static func sequenceKL(policy: Llama, reference: Llama, prompts: [[Int]], responses: [[Int]], batchSize: Int) throws -> [Double] {
        let p = try policy.responseLogProbs(prompts: prompts, responses: responses, batchSize: batchSize, pool: ActivationPool(model: policy))
        let q = try reference.responseLogProbs(prompts: prompts, responses: responses, batchSize: batchSize, pool: ActivationPool(model: reference))
        return zip(p, q).map { a, b in zip(a, b).reduce(0.0) { $0 + Double($1.0) - Double($1.1) } }
    }
}

func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
