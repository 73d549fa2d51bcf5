import Foundation
import Topology
import XCTest

/// Every fault is refused before anything starts, with file, line, column and what is wrong.
final class TopologyValidationTests: XCTestCase {
    /// The faults of `yaml` (which must have some).
    private func faults(_ yaml: String, options: TopologyValidator.Options = .init(checkFiles: false, allowedCores: [0, 1]),
                        file: StaticString = #filePath, line: UInt = #line) -> [TopologyError] {
        do {
            let spec = try TopologyParser.parse(yaml: yaml, file: "bad.yaml", options: options)
            XCTFail("accepted: \(spec)", file: file, line: line)
            return []
        } catch let error as TopologyErrors {
            return error.errors
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return []
        }
    }

    private let minimal = TopologyParserTests.minimal

    func testUnknownKey_isPlaced_andTheNearestKeySuggested() {
        let errors = faults(minimal + "\nroles:\n  actor:\n    thread: 2\nalgoritm: {}")
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:8:5: roles.actor.thread: unknown key (did you mean 'threads'?)",
            "bad.yaml:9:1: algoritm: unknown key (did you mean 'algorithm'?)",
        ])
        XCTAssertEqual(faults(minimal + "\nalgorithm: {kl_coeff: 0.2}").map(\.description),
                       ["bad.yaml:6:13: algorithm.kl_coeff: unknown key (did you mean 'kl_coef'?)"])
    }

    func testWrongTypes_areAllReportedAtOnce_withTheirValues() {
        let errors = faults(minimal + """

            roles:
              actor: {threads: two, cores: 0}
            algorithm:
              kl_coef: fast
              adaptive_kl: "yes"
              kl_estimator: k9
              generation_precision: fp16
            schedule: [1, 2]
            """)
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:7:20: roles.actor.threads: expected an integer, got \"two\"",
            "bad.yaml:7:32: roles.actor.cores: expected a list of integers, got 0",
            "bad.yaml:9:12: algorithm.kl_coef: expected a finite number, got \"fast\"",
            "bad.yaml:10:16: algorithm.adaptive_kl: expected true or false, got \"yes\"",
            "bad.yaml:11:17: algorithm.kl_estimator: \"k9\" is not accepted; expected one of k1, k2, k3",
            "bad.yaml:12:25: algorithm.generation_precision: \"fp16\" is not accepted; expected one of float32, bfloat16",
            "bad.yaml:13:11: schedule: expected a mapping of keys to values, got a list",
        ])
    }

    func testRoleWithNoHost_andAnUnknownHost() {
        let errors = faults(minimal + """

            hosts: {a: {}, b: {address: 10.0.0.2}}
            roles:
              actor: {host: a}
              reference: {host: c}
              reward: {host: a}
              critic: {threads: 1}
              buffer: {host: b}
            transport: {kind: tcp, keys: k}
            """)
        XCTAssertEqual(errors.map(\.code), [.unknownHost, .unknownHost])
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:9:21: roles.reference.host: unknown host \"c\"; hosts: a, b",
            "bad.yaml:11:11: roles.critic.host: no host: with several hosts (a, b) every role names one",
        ])
    }

    func testTwoRolesOnOneHostAndPort() {
        let errors = faults(minimal + "\ntransport: {kind: tcp, base_port: 6000, insecure: true}\nroles:\n  buffer: {port: 6001}")
        XCTAssertEqual(errors.map(\.description),
                       ["bad.yaml:8:18: roles.buffer.port: buffer and reference would both bind 127.0.0.1:6001 (host local)"])
    }

    func testMissingModelDirectory_andMissingDataFile() throws {
        let directory = NSTemporaryDirectory() + "topology-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/runs/sft", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/runs/rm", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "{}".write(toFile: directory + "/runs/sft/config.json", atomically: true, encoding: .utf8)
        let errors = faults(minimal, options: .init(checkFiles: true, baseDirectory: directory, allowedCores: [0, 1]))
        XCTAssertEqual(errors.map(\.code), [.missingFile, .missingFile, .missingFile, .missingFile])
        XCTAssertEqual(errors.map(\.key), ["models.critic.path", "models.actor.path", "models.reward.path", "data.prompts"])
        XCTAssertTrue(errors[2].description.hasPrefix("bad.yaml:3:18: models.reward.path: no model at \"runs/rm\" ("), errors[2].description)
        // The buffer tokenizes prompts with the actor's tokenizer: it needs that file, not the weights.
        XCTAssertTrue(errors[1].description.hasSuffix("no tokenizer.model or tokenizer.json in \"runs/sft\", which the buffer role reads to tokenize the prompts"), errors[1].description)
        // The critic's path is a default (the reward model's): its fault points at the models section.
        XCTAssertEqual(errors[0].line, 1)
    }

    /// A host's launcher checks only the files its own roles open; ipc across hosts is refused.
    func testFiles_areCheckedOnlyForTheHostsRoles_andIpcAcrossHostsIsRefused() throws {
        let directory = NSTemporaryDirectory() + "topology-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/runs/rm", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "{}".write(toFile: directory + "/runs/rm/config.json", atomically: true, encoding: .utf8)
        try RunKeyDirectory(path: directory + "/keys").create(hosts: ["a", "b"], run: "t")
        let twoHosts = minimal + """

            hosts: {a: {address: 10.0.0.1}, b: {address: 10.0.0.2}}
            roles:
              actor: {host: a}
              reference: {host: a}
              reward: {host: b}
              critic: {host: b}
              buffer: {host: a}
            transport: {kind: tcp, keys: keys}
            """
        // Host b holds the reward model (the critic's too) and nothing else: all its files are there.
        XCTAssertNoThrow(try TopologyParser.parse(yaml: twoHosts, file: "t.yaml",
                                                  options: .init(checkFiles: true, baseDirectory: directory, allowedCores: [0, 1], fileHosts: ["b"])))
        let onA = faults(twoHosts, options: .init(checkFiles: true, baseDirectory: directory, allowedCores: [0, 1], fileHosts: ["a"]))
        // The actor's and the reference's models, the actor's tokenizer (for the buffer), the prompts.
        XCTAssertEqual(onA.map(\.key), ["models.reference.path", "models.actor.path", "models.actor.path", "data.prompts"], "\(onA)")
        let ipc = faults(twoHosts.replacingOccurrences(of: "kind: tcp", with: "kind: ipc"))
        XCTAssertEqual(ipc.map(\.key), ["roles.reward.host", "roles.critic.host"], "\(ipc)")
        XCTAssertTrue(ipc[0].description.contains("transport ipc connects Unix sockets on one machine"), ipc[0].description)
    }

    func testCUDADevice_isRefusedByThisBuild() {
        let errors = faults(minimal + "\nroles:\n  actor: {device: \"cuda:0\"}")
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:7:19: roles.actor.device: \"cuda:0\": this build runs on cpu only; GPU backends are not built (use device: cpu)",
        ])
    }

    func testCriticMissingForPPO_whenTheRewardIsNotAModel() {
        let errors = faults("""
            models:
              actor: {path: runs/sft}
              reward: {rule: demo-tasks}
            data: {prompts: p.jsonl}
            """)
        XCTAssertEqual(errors.map(\.code), [.missing])
        XCTAssertTrue(errors[0].description.hasPrefix("bad.yaml:2:3: models.critic: ppo trains a critic: give critic.path"), errors[0].description)
    }

    func testGroupMethods_needTwoSamplesPerPrompt() {
        let errors = faults(minimal + "\nalgorithm: {name: rloo, samples_per_prompt: 1}")
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:6:45: algorithm.samples_per_prompt: rloo compares answers within a group of the same prompt: needs at least 2, got 1",
        ])
    }

    func testCoresOutOfRange_onThisMachineOnly() {
        let errors = faults(minimal + "\nroles:\n  actor: {cores: [1, 7]}\n  critic: {cores: []}")
        XCTAssertEqual(errors.map(\.code), [.coresOutOfRange, .invalidValue])
        XCTAssertEqual(errors[0].description, "bad.yaml:7:18: roles.actor.cores: CPU 7 not available on this machine (usable: 0-1)")
        // A remote host's cores are that host's business.
        let remote = minimal + "\nhosts: {far: {address: 10.1.2.3}}\nroles:\n  actor: {cores: [7]}"
        XCTAssertNoThrow(try TopologyParser.parse(yaml: remote, file: "ok.yaml", options: .init(checkFiles: false, allowedCores: [0, 1])))
    }

    func testInprocWithRolesOnDifferentHosts() {
        let errors = faults(minimal + """

            hosts: {a: {}, b: {}}
            transport: {kind: inproc}
            roles: {actor: {host: a}, reference: {host: a}, reward: {host: b}, critic: {host: a}, buffer: {host: a}}
            """)
        XCTAssertEqual(errors.map(\.code), [.invalidValue])
        XCTAssertTrue(errors[0].description.hasPrefix("bad.yaml:8:64: roles.reward.host: transport inproc runs every role in one process"),
                      errors[0].description)
    }

    func testThreadsBelowOne_andReplicas() {
        let errors = faults(minimal + "\nroles:\n  reward: {threads: 0, replicas: 2}\n  critic: {replicas: 2}\n  reference: {replicas: 0}")
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:7:21: roles.reward.threads: must be at least 1, got 0",
            "bad.yaml:8:22: roles.critic.replicas: 2 replicas of critic: only the stateless roles (generator, reference, reward) have replicas; a trainer (actor, critic) or the buffer runs once. To generate with several processes, add a generator role with replicas",
            "bad.yaml:9:25: roles.reference.replicas: must be from 1 to 32, got 0",
        ])
        XCTAssertNoThrow(try TopologyParser.parse(yaml: minimal + "\nroles:\n  reward: {replicas: 2}\n  reference: {replicas: 3}",
                                                  file: "t.yaml", options: TopologyValidator.Options(checkFiles: false)))
    }

    /// `restarts` is for the stateless roles (by default 3 there, 0 elsewhere); the probe and
    /// silence settings are checked.
    func testRestarts_andProbeSettings() throws {
        let errors = faults(minimal + "\nroles:\n  actor: {restarts: 1}\n  reward: {restarts: 101}\ntransport: {probe_interval_seconds: 2, silence_limit_seconds: 1}")
        XCTAssertEqual(Set(errors.map(\.code)), [.invalidValue, .unsupported], "\(errors)")
        XCTAssertEqual(errors.count, 3, "\(errors)")
        XCTAssertTrue(errors.contains { $0.description.contains("roles.actor.restarts: actor holds state") }, "\(errors)")
        let plan = try TopologyParser.parse(yaml: minimal + "\nroles:\n  reference: {restarts: 0}\ntransport: {silence_limit_seconds: 5}",
                                            file: "t.yaml", options: TopologyValidator.Options(checkFiles: false)).runPlan()
        XCTAssertEqual(plan.restarts[.reference], 0)
        XCTAssertEqual(plan.restarts[.reward], 3)
        XCTAssertEqual(plan.restarts[.actor], 0)
        XCTAssertEqual(plan.silenceLimitSeconds, 5)
        XCTAssertEqual(plan.probeIntervalSeconds, 1)
    }

    /// Replicas over tcp take ports of their own, after every role's first (base_port + 6 on:
    /// the six roles, generator included, come first); with a given port,
    /// the next ones; a clash with another role is refused.
    func testReplicaPorts_areTheirOwn() throws {
        let spec = try TopologyParser.parse(yaml: minimal + "\ntransport: {kind: tcp, base_port: 7000, insecure: true}\nroles:\n  reference: {replicas: 3}\n  reward: {replicas: 2}",
                                            file: "t.yaml", options: TopologyValidator.Options(checkFiles: false))
        XCTAssertEqual((0..<3).map { spec.port(for: .reference, replica: $0) }, [7001, 7006, 7007])
        XCTAssertEqual((0..<2).map { spec.port(for: .reward, replica: $0) }, [7002, 7008])
        XCTAssertEqual(spec.endpoint(for: .reward, replica: 1), "tcp://127.0.0.1:7008")
        let clash = faults(minimal + "\ntransport: {kind: tcp, insecure: true}\nroles:\n  reference: {port: 6000, replicas: 2}\n  reward: {port: 6001}")
        XCTAssertEqual(clash.map(\.code), [.portConflict], "\(clash)")
    }

    func testScheduleValues_outOfRange() {
        let errors = faults(minimal + "\nschedule: {iterations: 0, eval_every: -1, eval_size: 0}")
        XCTAssertEqual(errors.map(\.description), [
            "bad.yaml:6:24: schedule.iterations: must be at least 1, got 0",
            "bad.yaml:6:39: schedule.eval_every: must not be negative (0 never evaluates), got -1",
            "bad.yaml:6:54: schedule.eval_size: must be at least 1 (the first N of data.eval_prompts), got 0",
        ])
    }

    func testLearningRateDecay_outOfRangeOrUnknownSchedule() {
        XCTAssertEqual(faults(minimal + "\nalgorithm: {name: grpo, lr_decay_ratio: 0}").map(\.description),
                       ["bad.yaml:6:41: algorithm.lr_decay_ratio: must be in (0, 1], got 0.0"])
        XCTAssertEqual(faults(minimal + "\nalgorithm: {name: grpo, lr_scheduler_type: wsd}").map(\.code), [.invalidValue])
        let spec = try! TopologyParserTests.parse(minimal + "\nalgorithm: {name: grpo, lr_scheduler_type: warmup_stable_decay, lr_decay_ratio: 0.25, warmup_steps: 5}")
        let schedule = spec.algorithm.schedule(rate: 1, totalUpdates: 100)
        XCTAssertEqual(schedule.decaySteps, 25)
        XCTAssertEqual(schedule.learningRate(step: 74), 1)
        XCTAssertLessThan(schedule.learningRate(step: 76), 1)
    }

    func testDuplicateKeys_syntax_andMissingSections() {
        XCTAssertEqual(faults(minimal + "\nrun: {seed: 1, seed: 2}").map(\.description),
                       ["bad.yaml:6:16: run.seed: given twice (first at line 6)"])
        XCTAssertEqual(faults("models: [").map(\.code), [.syntax])
        XCTAssertEqual(faults("run: {name: x}").map(\.description), [
            "bad.yaml: models: the models section is required (models.actor.path at least)",
            "bad.yaml: data: the data section is required (data.prompts: a JSONL file of prompts)",
        ])
    }

    func testSpecBuiltInCode_isValidatedToo() {
        var spec = try! TopologyParserTests.parse(minimal)
        spec.roles[.critic]?.device = "mps"
        XCTAssertThrowsError(try TopologyValidator(options: .init(checkFiles: false)).validate(spec)) { error in
            XCTAssertEqual((error as? TopologyErrors)?.codes, [.unsupportedDevice])
        }
    }
}
