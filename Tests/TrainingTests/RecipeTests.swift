import Foundation
import Training
import XCTest

/// Recipes: YAML and flags, what is refused and where it is reported.
final class RecipeTests: XCTestCase {
    private func write(_ yaml: String) -> String {
        let path = Fixture.temporaryDirectory("recipe") + "/recipe.yaml"
        try! yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private let minimal = """
        model_name_or_path: runs/base
        train_file: data/demo/train.jsonl
        output_dir: runs/x

        """

    private func expectError(_ yaml: String, flags: [String] = [], stage: TrainingStage = .sft,
                             _ check: (RecipeError, String) -> Void) {
        let path = write(yaml)
        XCTAssertThrowsError(try RecipeParser.resolve(stage: stage, configPath: path, flags: flags)) { error in
            guard let e = error as? RecipeError else { return XCTFail("not a RecipeError: \(error)") }
            check(e, path)
        }
    }

    func testYAMLAndFlags_setTheFieldsWithFlagsWinning() throws {
        let path = write(minimal + """
            learning_rate: 1e-4
            num_train_epochs: 2
            lora_target_modules: [q_proj, k_proj]
            eval_steps: 50
            """)
        let r = try RecipeParser.resolve(stage: .sft, configPath: path,
                                         flags: ["--learning_rate", "3e-5", "--max-steps=7", "--skip_bad_records", "--eval_steps", "null"])
        XCTAssertEqual(r.recipe.learningRate, 3e-5)
        XCTAssertEqual(r.recipe.numTrainEpochs, 2)
        XCTAssertEqual(r.recipe.maxSteps, 7)
        XCTAssertTrue(r.recipe.skipBadRecords)
        XCTAssertNil(r.recipe.evalSteps)
        XCTAssertEqual(r.recipe.loraTargetModules, ["q_proj", "k_proj"])
        XCTAssertEqual(r.source(of: "learning_rate"), .flag("--learning_rate"))
        XCTAssertEqual(r.source(of: "num_train_epochs"), .file(path: path, line: 5))
        XCTAssertEqual(r.source(of: "seed"), .defaultValue)
    }

    func testUnknownKey_isRefusedWithItsLineAndASuggestion() {
        expectError(minimal + "learnig_rate: 0.1\n") { e, path in
            XCTAssertEqual(e.code, .unknownKey)
            XCTAssertEqual(e.place, "\(path):4")
            XCTAssertTrue(e.description.contains("'learnig_rate'") && e.description.contains("did you mean 'learning_rate'"), e.description)
        }
    }

    func testWrongType_namesKeyLineAndExpectedType() {
        expectError(minimal + "seed: 1\nper_device_train_batch_size: eight\n") { e, path in
            XCTAssertEqual(e.code, .wrongType)
            XCTAssertEqual(e.description, "\(path):5: 'per_device_train_batch_size': expected an integer, got \"eight\"")
        }
        expectError(minimal + "packing: [1, 2]\n") { e, path in
            XCTAssertEqual(e.place, "\(path):4")
            XCTAssertTrue(e.message.contains("expected true or false, got a list"), e.message)
        }
        expectError(minimal + "learning_rate: {a: 1}\n") { e, _ in
            XCTAssertTrue(e.message.contains("expected a number, got a mapping"), e.message)
        }
    }

    func testFlagErrors_nameTheFlag() {
        expectError(minimal, flags: ["--max_steps", "ten"]) { e, _ in
            XCTAssertEqual(e.description, "--max_steps: expected an integer, got \"ten\"")
        }
        expectError(minimal, flags: ["--learning_rat", "1"]) { e, _ in
            XCTAssertEqual(e.code, .unknownKey)
            XCTAssertTrue(e.description.contains("--learning_rate"), e.description)
        }
        expectError(minimal, flags: ["--learning_rate"]) { e, _ in
            XCTAssertTrue(e.description.contains("needs a value"), e.description)
        }
        // A boolean flag followed by a word that is not a boolean is a wrong value, not a switch.
        expectError(minimal, flags: ["--group_by_length", "maybe"]) { e, _ in
            XCTAssertEqual(e.description, "--group_by_length: expected true or false, got \"maybe\"")
        }
    }

    func testValidation_reportsTheLineThatSetTheBadValue() {
        expectError(minimal + "loss_type: hinge\n", stage: .dpo) { e, path in
            XCTAssertEqual(e.code, .invalidValue)
            XCTAssertEqual(e.place, "\(path):4")
        }
        expectError("train_file: a.jsonl\noutput_dir: x\n") { e, _ in
            XCTAssertEqual(e.code, .missing)
            XCTAssertEqual(e.key, "model_name_or_path")
        }
        expectError(minimal + "data_split: 6,2\n") { e, _ in XCTAssertEqual(e.key, "data_split") }
        expectError(minimal + "duplicate: 1\n") { e, _ in XCTAssertEqual(e.code, .unknownKey) }
        expectError(minimal + "seed: 1\nseed: 2\n") { e, path in
            XCTAssertEqual(e.code, .duplicateKey)
            XCTAssertEqual(e.place, "\(path):5")
        }
    }

    func testLoRAKeys_configureAdaptersForEveryStage() throws {
        let path = write(minimal + "use_lora: true\nlora_r: 16\nlora_alpha: 32\nlora_dropout: 0.1\nlora_target_modules: q_proj,v_proj\n")
        let config = try RecipeParser.resolve(stage: .sft, configPath: path, flags: []).recipe.loraConfig()
        XCTAssertEqual(config?.r, 16)
        XCTAssertEqual(config?.alpha, 32)
        XCTAssertEqual(config?.targetModules, [.q, .v])
        let rm = try RecipeParser.resolve(stage: .rm, configPath: write(minimal + "use_lora: true\n"), flags: [])
        XCTAssertNoThrow(try rm.validate())
        XCTAssertTrue(rm.recipe.useLora)
        expectError(minimal + "lora_target_modules: [q_proj, attn]\n") { e, path in
            XCTAssertEqual(e.place, "\(path):4")
            XCTAssertTrue(e.message.contains("unknown module \"attn\""), e.message)
        }
    }

    func testKeysAnotherStageUses_produceANoteNotAnError() throws {
        let r = try RecipeParser.resolve(stage: .sft, configPath: write(minimal + "beta: 0.2\n"), flags: [])
        XCTAssertEqual(r.warnings.count, 1)
        XCTAssertTrue(r.warnings[0].contains("'beta' has no effect in sft"), r.warnings[0])
    }

    func testResolvedYAML_readsBackToTheSameRecipe() throws {
        let first = try RecipeParser.resolve(stage: .dpo, configPath: write(minimal + "template: chatml\nbeta: 0.25\n"),
                                             flags: ["--eval_file", "e \"quoted\".jsonl", "--max_grad_norm", "0.5"])
        let again = try RecipeParser.resolve(stage: .dpo, configPath: write(first.yaml), flags: [])
        XCTAssertEqual(again.recipe, first.recipe)
    }

    func testShippedRecipes_parseAndEveryKeyIsDocumented() throws {
        for (stage, name) in [(TrainingStage.pt, "pt-demo"), (.sft, "sft-demo"), (.rm, "rm-demo"), (.dpo, "dpo-demo")] {
            let path = Fixture.repositoryRoot + "/recipes/\(name).yaml"
            let r = try RecipeParser.resolve(stage: stage, configPath: path, flags: [])
            XCTAssertTrue(r.warnings.isEmpty, "\(name): \(r.warnings)")
        }
        let docs = try String(contentsOfFile: Fixture.repositoryRoot + "/Docs/training.md", encoding: .utf8)
        for key in RecipeKey.all {
            XCTAssertTrue(docs.contains("`\(key.name)`"), "Docs/training.md does not document \(key.name)")
        }
    }
}
