import Foundation
import Model
import Topology
import Training
import XCTest

/// Parsing: defaults, endpoints, the algorithm section, and the shipped topologies.
final class TopologyParserTests: XCTestCase {
    static let minimal = """
        models:
          actor: {path: runs/sft}
          reward: {path: runs/rm}
        data:
          prompts: data/demo/train.jsonl
        """

    static func parse(_ yaml: String, file: String = "t.yaml", cores: [Int] = [0, 1]) throws -> TopologySpec {
        try TopologyParser.parse(yaml: yaml, file: file, options: .init(checkFiles: false, allowedCores: cores))
    }

    func testMinimalFile_resolvesEveryDefault() throws {
        let spec = try Self.parse(Self.minimal, file: "topologies/demo.yaml")
        XCTAssertEqual(spec.run, RunSettings(name: "demo", directory: "runs/demo", seed: 42))
        XCTAssertEqual(spec.hosts, ["local": HostSpec(name: "local", address: "127.0.0.1")])
        XCTAssertEqual(spec.activeRoles, [.actor, .reference, .reward, .critic, .buffer])
        for role in spec.activeRoles {
            XCTAssertEqual(spec.roles[role], RoleSpec(host: "local", device: "cpu", threads: 1, cores: nil, port: nil, replicas: 1))
        }
        XCTAssertEqual(spec.models, ModelSources(actorPath: "runs/sft", actorLoRA: nil, referencePath: "runs/sft",
                                                 reward: .model(path: "runs/rm"), criticPath: "runs/rm"))
        XCTAssertEqual(spec.transport, TransportSpec(kind: .ipc, basePort: 5555, directory: "runs/demo/sockets"))
        XCTAssertEqual(spec.endpoint(for: .actor), "ipc://runs/demo/sockets/actor.sock")
        XCTAssertEqual(spec.algorithm, RLAlgorithmConfig())
        XCTAssertEqual(spec.data, DataSources(prompts: "data/demo/train.jsonl", evalPrompts: nil, ptx: nil, promptTemplate: nil))
        XCTAssertEqual(spec.schedule, Schedule(iterations: 100, saveEvery: 50, evalEvery: 0, logEvery: 1))
        XCTAssertEqual(spec.warnings, [])
    }

    /// The plan reads paths as the validator checks them: relative ones from the base directory
    /// given (a replay run elsewhere than the launch), `~` expanded, absolute ones as they are.
    func testRunPlan_readsPathsAsTheValidatorDoes() throws {
        let spec = try Self.parse(Self.minimal.replacingOccurrences(of: "{path: runs/rm}", with: "{path: ~/models/rm}")
                                  + "\n  ptx: /abs/ptx.jsonl")
        let here = try spec.runPlan()
        XCTAssertEqual(here.actorModel, "runs/sft")
        XCTAssertEqual(here.criticModel, NSString(string: "~/models/rm").expandingTildeInPath)
        let there = try spec.runPlan(baseDirectory: "/launch/dir")
        XCTAssertEqual(there.actorModel, "/launch/dir/runs/sft")
        XCTAssertEqual(there.referenceModel, "/launch/dir/runs/sft")
        XCTAssertEqual(there.promptsFile, "/launch/dir/data/demo/train.jsonl")
        XCTAssertEqual(there.directory, "/launch/dir/runs/t")
        XCTAssertEqual(there.criticModel, here.criticModel, "a path from home is not relative")
        XCTAssertFalse(there.criticModel?.hasPrefix("/launch") ?? true)
        XCTAssertEqual(there.ptxFile, "/abs/ptx.jsonl")
    }

    func testReportTo_tensorboardTurnsTheEventFilesOn_asInRecipes() throws {
        XCTAssertFalse(try Self.parse(Self.minimal).runPlan().reportToTensorBoard)
        for value in ["[tensorboard]", "tensorboard", "[all]"] {
            let spec = try Self.parse(Self.minimal + "\nrun: {report_to: \(value)}")
            XCTAssertTrue(try spec.runPlan().reportToTensorBoard, value)
        }
        XCTAssertFalse(try Self.parse(Self.minimal + "\nrun: {report_to: [none]}").runPlan().reportToTensorBoard)
        XCTAssertThrowsError(try Self.parse(Self.minimal + "\nrun: {report_to: [wandb]}")) { error in
            XCTAssertTrue(String(describing: error).contains("run.report_to: expected tensorboard, all or none, got \"wandb\""),
                          String(describing: error))
        }
    }

    func testEndpoints_tcpTakeBasePortPlusRoleIndex_unlessAPortIsGiven() throws {
        let spec = try Self.parse(Self.minimal + """

            hosts:
              a: {address: 10.0.0.1}
              b: {address: 10.0.0.2}
            roles:
              actor: {host: a}
              reference: {host: a}
              reward: {host: b, port: 7000}
              critic: {host: b}
              buffer: {host: a}
            transport: {kind: tcp, base_port: 6000, keys: run-keys}
            """)
        XCTAssertEqual(spec.activeRoles.map { spec.endpoint(for: $0) },
                       ["tcp://10.0.0.1:6000", "tcp://10.0.0.1:6001", "tcp://10.0.0.2:7000", "tcp://10.0.0.2:6003", "tcp://10.0.0.1:6004"])
        XCTAssertEqual(spec.roles(onHost: "b"), [.reward, .critic])
        let inproc = try Self.parse(Self.minimal + "\ntransport: {kind: inproc}")
        XCTAssertEqual(inproc.endpoint(for: .buffer), "inproc://buffer")
    }

    func testAlgorithm_nameSelectsDefaultsFirst_thenKeysOverride_inAnyOrder() throws {
        let spec = try Self.parse("""
            models:
              actor: {path: runs/sft, lora: {r: 4, target_modules: all-linear}}
              reward: {rule: demo-tasks}
            data: {prompts: p.jsonl, prompt_template: "Q: {prompt} A:"}
            algorithm:
              kl_coef: 0.02
              max_staleness: 1
              missing_eos_penalty: 1.5
              kl_estimator: k2
              adaptive_kl: true
              name: grpo
            """)
        var expected = RLAlgorithmConfig(algorithm: .grpo)
        expected.klCoef = 0.02
        expected.maxStaleness = 1
        expected.missingEOSPenalty = 1.5
        expected.klEstimator = .k2
        expected.adaptiveKL = true
        XCTAssertEqual(spec.algorithm, expected)
        XCTAssertEqual(spec.activeRoles, [.actor, .reference, .reward, .buffer], "GRPO has no critic")
        XCTAssertNil(spec.models.criticPath)
        XCTAssertEqual(spec.models.reward, .rule("demo-tasks"))
        var lora = LoRASettings()
        lora.r = 4
        lora.targetModules = ["all-linear"]
        XCTAssertEqual(spec.models.actorLoRA, lora)
    }

    /// The keys are RLAlgorithmConfig's fields in snake_case: these are the names its doc
    /// comments give, so a renamed field shows up here.
    func testAlgorithmKeys_areTheDocumentedSnakeCaseNames() throws {
        let documented = ["algorithm", "kl_coef", "kl_estimator", "adaptive_kl", "target_kl", "kl_horizon", "reward_clip",
                          "missing_eos_penalty", "gamma", "lambda", "whiten_advantages", "scale_rewards", "policy_clip",
                          "value_clip", "ppo_epochs", "ptx_coef", "actor_ema", "actor_learning_rate", "critic_learning_rate",
                          "weight_decay", "max_grad_norm", "lr_scheduler_type", "warmup_steps", "lr_decay_ratio", "mini_batch_size", "shuffle_mini_batches", "share_prompts", "prompts_per_iteration",
                          "samples_per_prompt", "max_new_tokens", "max_prompt_length", "temperature", "top_k", "top_p",
                          "generation_precision", "dynamic_sampling_prompts", "max_staleness"]
        XCTAssertEqual(Set(TopologyParser.algorithmKeys), Set(documented + ["name"]))
        // Every key is read: a value different from the default lands in the config.
        let yaml = Self.minimal + "\nalgorithm:\n  actor_ema: 0.99\n  target_kl: 3\n  top_k: 5\n  whiten_advantages: true\n  temperature: 0.7"
        let a = try Self.parse(yaml).algorithm
        XCTAssertEqual([a.actorEMA, a.targetKL, Double(a.topK), a.whitenAdvantages ? 1 : 0, a.temperature], [0.99, 3, 5, 1, 0.7])
        // Sampling is bfloat16 unless the file says float32.
        XCTAssertEqual(a.generationPrecision, .bfloat16)
        XCTAssertEqual(try Self.parse(Self.minimal + "\nalgorithm: {generation_precision: float32}").algorithm.generationPrecision, .float32)
    }

    func testShippedTopologies_allParse() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.appendingPathComponent("topologies").path
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertEqual(files, ["grpo-rules-quick.yaml", "grpo-rules.yaml", "pipelined.yaml", "quickstart.yaml", "replicas.yaml",
                               "single-process.yaml", "two-hosts.yaml"])
        var specs: [String: TopologySpec] = [:]
        for file in files {
            // Models are not trained on a test machine: skip the file checks, keep the rest.
            let options = TopologyValidator.Options(checkFiles: false, allowedCores: [0, 1])
            specs[file] = try TopologyParser.load(path: directory + "/" + file, options: options)
            XCTAssertTrue(FileManager.default.fileExists(atPath: root.path + "/" + specs[file]!.data.prompts), file)
        }
        let quickstart = try XCTUnwrap(specs["quickstart.yaml"])
        XCTAssertEqual(quickstart.transport.kind, .ipc)
        XCTAssertEqual(quickstart.activeRoles.count, 5)
        XCTAssertEqual(quickstart.models.actorPath, "runs/sft")
        XCTAssertEqual(quickstart.models.criticPath, "runs/rm")
        XCTAssertEqual(specs["single-process.yaml"]?.transport.kind, .inproc)
        XCTAssertEqual(specs["pipelined.yaml"]?.algorithm.maxStaleness, 1)
        let twoHosts = try XCTUnwrap(specs["two-hosts.yaml"])
        XCTAssertEqual(twoHosts.transport.kind, .tcp)
        XCTAssertEqual(twoHosts.transport.keys, "runs/two-hosts-keys")
        XCTAssertEqual(twoHosts.roles(onHost: "scorer"), [.reward, .critic])
        XCTAssertEqual(specs["replicas.yaml"]?.replicas(of: .generator), 2)
        let grpo = try XCTUnwrap(specs["grpo-rules.yaml"])
        XCTAssertEqual(grpo.algorithm.algorithm, .grpo)
        XCTAssertEqual(grpo.models.reward, .rule("demo-tasks"))
        XCTAssertFalse(grpo.activeRoles.contains(.critic))
        XCTAssertEqual(grpo.algorithm.lrSchedulerType, .warmupStableDecay)
        XCTAssertEqual(grpo.algorithm.lrDecayRatio, 0.25)
        XCTAssertEqual(grpo.algorithm.maxStaleness, 1)
        XCTAssertEqual(grpo.schedule.iterations, 3000)
        // The quickstart's step 3: grpo-rules.yaml cut to 1,200 iterations (the decay, a fraction
        // of the run, follows).
        let quick = try XCTUnwrap(specs["grpo-rules-quick.yaml"])
        XCTAssertEqual(quick.algorithm, grpo.algorithm)
        XCTAssertEqual(quick.roles, grpo.roles)
        XCTAssertEqual(quick.models.reward, .rule("demo-tasks"))
        XCTAssertEqual(quick.data, grpo.data)
        XCTAssertEqual(quick.schedule.iterations, 1200)
        XCTAssertEqual(quick.schedule.evalSize, 300, "the held-out curve ends at the pipeline table's figure")
    }
}
