import Foundation
import Tasks
import Tokenization
import Training

/// The held-out check a run makes every `eval_every` iterations and at its end: the actor's
/// greedy answers to the first `evalPrompts` prompts of `eval_prompts`, judged by the demo
/// tasks' rule checker where the prompts are demo tasks (as `rlhf eval sft` judges them).
struct HeldOutEvaluation: Sendable {
    let prompts: PromptSource
    let tokenizer: any TextTokenizer
    let maxNewTokens: Int

    init(plan: RunPlan) throws {
        guard let file = plan.evalPromptsFile else { throw RoleError(.badInput, "no eval_prompts") }
        prompts = try PromptSource(file: file, modelDirectory: plan.actorModel, maxPromptLength: plan.algorithm.maxPromptLength,
                                   seed: plan.seed, limit: plan.evalPrompts, userTemplate: plan.promptTemplate)
        tokenizer = try TokenizerFiles.load(plan.actorModel)
        maxNewTokens = plan.algorithm.maxNewTokens
    }

    /// `eval/task_accuracy` of the policy of `policyVersion` over the prompts the checker recognises, and how many it checked
    /// (none when the prompts are not demo tasks).
    func run(_ actor: any RoleChannel, policyVersion: Int) async throws -> [String: Double] {
        let answers = try await actor.call(.answer(prompts: prompts.prompts.map(\.ids), maxNewTokens: maxNewTokens,
                                                   policyVersion: policyVersion),
                                           expecting: "answers") {
            if case .responses(let r) = $0 { r } else { nil }
        }
        guard answers.count == prompts.prompts.count else {
            throw RoleError(.badInput, "actor gave \(answers.count) answers to \(prompts.prompts.count) prompts")
        }
        let checker = TaskChecker()
        var right = 0, checked = 0
        for (prompt, answer) in zip(prompts.prompts, answers) {
            let text = try tokenizer.decodeGenerated(answer.map(Int.init)).trimmingCharacters(in: .whitespaces)
            let verdict = checker.check(prompt: prompt.text, response: text)
            if verdict == .notATask { continue }
            checked += 1
            if verdict.isCorrect { right += 1 }
        }
        guard checked > 0 else { return ["eval/checked": 0] }
        return ["eval/task_accuracy": Double(right) / Double(checked), "eval/checked": Double(checked)]
    }
}
