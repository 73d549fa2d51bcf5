import Foundation
import Training
import Yams

/// Reads topology files (YAML, with Yams) into a `TopologySpec`: resolves defaults, refuses
/// unknown keys and wrong types with their line and column, then runs `TopologyValidator`.
/// Faults are collected and thrown together as `TopologyErrors`.
public enum TopologyParser {
    static let sections = ["run", "hosts", "models", "roles", "transport", "algorithm", "data", "schedule"]

    /// Reads, resolves and validates a topology file.
    /// - Parameters:
    ///   - path: the YAML file.
    ///   - options: which checks touch the file system and this machine.
    /// - Throws: `TopologyErrors` listing every fault found, each with file, line and column.
    public static func load(path: String, options: TopologyValidator.Options = .init()) throws -> TopologySpec {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw TopologyErrors([TopologyError(.unreadable, file: path, "cannot read the topology file: \(error.localizedDescription)")])
        }
        return try parse(yaml: text, file: path, options: options)
    }

    /// Reads, resolves and validates a topology given as text.
    /// - Parameters:
    ///   - text: the YAML document.
    ///   - file: its name in messages; also the default run name (without directory and extension).
    ///   - options: which checks touch the file system and this machine.
    /// - Throws: `TopologyErrors`.
    public static func parse(yaml text: String, file: String, options: TopologyValidator.Options = .init()) throws -> TopologySpec {
        let diagnostics = Diagnostics(file: file)
        let top = try YAMLMapping.document(text, file: file, diagnostics: diagnostics, needs: "a topology needs at least models and data")
        top.refuseUnknownKeys(sections)
        let spec = resolve(top, file: file)
        if let spec {  // also after parse faults: more faults at once, on the values that did parse
            diagnostics.append(TopologyValidator(options: options).check(spec, top: top))
        }
        guard diagnostics.errors.isEmpty, let spec else { throw TopologyErrors(diagnostics.errors) }
        return spec
    }

    // MARK: - Sections

    /// Builds the spec; nil when a required part is missing (its fault is recorded).
    private static func resolve(_ top: YAMLMapping, file: String) -> TopologySpec? {
        let run = readRun(top.mapping("run"), top: top, file: file)
        let hosts = readHosts(top.mapping("hosts"))
        let algorithm = AlgorithmSection.read(top.mapping("algorithm"))
        let models = readModels(top.mapping("models"), top: top, algorithm: algorithm)
        let transport = readTransport(top.mapping("transport"), runDirectory: run.directory)
        var warnings: [String] = []
        let roles = readRoles(top.mapping("roles"), top: top, hosts: hosts, algorithm: algorithm, warnings: &warnings)
        let data = readData(top.mapping("data"), top: top)
        let schedule = readSchedule(top.mapping("schedule"))
        guard let models, let data else { return nil }
        return TopologySpec(file: file, run: run, hosts: hosts, models: models, roles: roles, transport: transport,
                            algorithm: algorithm, data: data, schedule: schedule, warnings: warnings)
    }

    private static func readRun(_ m: YAMLMapping?, top: YAMLMapping, file: String) -> RunSettings {
        m?.refuseUnknownKeys(["name", "directory", "seed", "report_to"])
        let base = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let name = m?.string("name") ?? (base.isEmpty ? "run" : base)
        var seed: UInt64 = 42
        if let given = m?.int("seed") {
            if given < 0 { m?.fail(.invalidValue, "seed", "must not be negative, got \(given)") } else { seed = UInt64(given) }
        }
        // The recipes' key and values (Docs/training.md): steps 1 to 3 ask for TensorBoard alike.
        let reportTo = m?.value("report_to")?.scalar != nil ? [m?.string("report_to") ?? ""] : m?.stringList("report_to") ?? []
        for target in reportTo where !["tensorboard", "all", "none"].contains(target) {
            m?.fail(.invalidValue, "report_to", "expected tensorboard, all or none, got \"\(target)\"")
        }
        return RunSettings(name: name, directory: m?.string("directory") ?? "runs/\(name)", seed: seed, reportTo: reportTo)
    }

    private static func readHosts(_ m: YAMLMapping?) -> [String: HostSpec] {
        guard let m, !m.keys.isEmpty else { return ["local": HostSpec(name: "local", address: HostSpec.defaultAddress)] }
        var hosts: [String: HostSpec] = [:]
        for name in m.keys {
            var address = HostSpec.defaultAddress
            if let entry = m.mapping(name) {
                entry.refuseUnknownKeys(["address"])
                address = entry.string("address") ?? address
            } else if m.value(name) != nil {
                continue  // wrong type already recorded by mapping()
            }
            hosts[name] = HostSpec(name: name, address: address)
        }
        return hosts
    }

    private static func readTransport(_ m: YAMLMapping?, runDirectory: String) -> TransportSpec {
        m?.refuseUnknownKeys(["kind", "base_port", "directory", "request_timeout_seconds", "probe_interval_seconds", "silence_limit_seconds",
                              "coordinator_silence_limit_seconds", "keys", "insecure"])
        var kind = TransportSpec.Kind.ipc
        if let text = m?.string("kind") {
            if let k = TransportSpec.Kind(rawValue: text) { kind = k } else {
                m?.fail(.invalidValue, "kind", "unknown transport \"\(text)\"; expected inproc, ipc or tcp")
            }
        }
        let basePort = m?.int("base_port") ?? 5555
        if !(1...65535).contains(basePort) { m?.fail(.invalidValue, "base_port", "must be a port number (1...65535), got \(basePort)") }
        // `double` already refuses what is not a finite number (.inf, nan, text).
        let timeout = m?.double("request_timeout_seconds") ?? TransportSpec.defaultRequestTimeoutSeconds
        if !(timeout > 0 && timeout <= TransportSpec.maxRequestTimeoutSeconds) {
            m?.fail(.invalidValue, "request_timeout_seconds",
                    "must be above 0 and at most \(Int(TransportSpec.maxRequestTimeoutSeconds)) (a day), got \(timeout)")
        }
        var spec = TransportSpec(kind: kind, basePort: basePort, directory: m?.string("directory") ?? runDirectory + "/sockets",
                                 requestTimeoutSeconds: timeout)
        func seconds(_ key: String) -> Double? {
            guard let value = m?.double(key) else { return nil }
            guard value > 0 && value <= TransportSpec.maxRequestTimeoutSeconds else {
                m?.fail(.invalidValue, key, "must be above 0 and at most \(Int(TransportSpec.maxRequestTimeoutSeconds)) (a day), got \(value)")
                return nil
            }
            return value
        }
        if let value = seconds("probe_interval_seconds") { spec.probeIntervalSeconds = value }
        if let value = seconds("silence_limit_seconds") { spec.silenceLimitSeconds = value }
        spec.givenCoordinatorSilenceLimitSeconds = seconds("coordinator_silence_limit_seconds")
        spec.keys = m?.string("keys")  // whether tcp may go without them: TopologyValidator+Keys
        spec.insecure = m?.bool("insecure") ?? false
        if spec.silenceLimitSeconds <= spec.probeIntervalSeconds {
            m?.fail(.invalidValue, "silence_limit_seconds", "must be longer than probe_interval_seconds (\(spec.probeIntervalSeconds)), got \(spec.silenceLimitSeconds)")
        }
        // Shorter, the coordinator would stop the run while the launcher is still replacing a
        // silent stateless role. (Checked only when given: the default is three times as long.)
        if let given = spec.givenCoordinatorSilenceLimitSeconds, given <= spec.silenceLimitSeconds {
            m?.fail(.invalidValue, "coordinator_silence_limit_seconds",
                    "must be longer than silence_limit_seconds (\(spec.silenceLimitSeconds)), after which the launcher kills a silent role and starts a new one, which the coordinator waits for; got \(given)")
        }
        return spec
    }

    private static func readData(_ m: YAMLMapping?, top: YAMLMapping) -> DataSources? {
        guard let m else {
            top.diagnostics.add(.missing, at: nil, key: "data", "the data section is required (data.prompts: a JSONL file of prompts)")
            return nil
        }
        m.refuseUnknownKeys(["prompts", "eval_prompts", "ptx", "prompt_template"])
        let template = m.string("prompt_template")
        if let template, !template.contains("{prompt}") {
            m.fail(.invalidValue, "prompt_template", "must contain {prompt} where the prompt goes")
        }
        guard let prompts = m.string("prompts") else {
            if m.value("prompts") == nil { m.fail(.missing, "prompts", "required: the file of training prompts") }
            return nil
        }
        return DataSources(prompts: prompts, evalPrompts: m.string("eval_prompts"), ptx: m.string("ptx"), promptTemplate: template)
    }

    private static func readSchedule(_ m: YAMLMapping?) -> Schedule {
        m?.refuseUnknownKeys(["iterations", "save_every", "eval_every", "eval_size", "log_every"])
        let s = Schedule(iterations: m?.int("iterations") ?? 100, saveEvery: m?.int("save_every") ?? 50,
                         evalEvery: m?.int("eval_every") ?? 0, evalSize: m?.int("eval_size") ?? 100, logEvery: m?.int("log_every") ?? 1)
        if s.iterations < 1 { m?.fail(.invalidValue, "iterations", "must be at least 1, got \(s.iterations)") }
        if s.saveEvery < 0 { m?.fail(.invalidValue, "save_every", "must not be negative (0 saves only at the end), got \(s.saveEvery)") }
        if s.evalEvery < 0 { m?.fail(.invalidValue, "eval_every", "must not be negative (0 never evaluates), got \(s.evalEvery)") }
        if s.evalSize < 1 { m?.fail(.invalidValue, "eval_size", "must be at least 1 (the first N of data.eval_prompts), got \(s.evalSize)") }
        if s.logEvery < 1 { m?.fail(.invalidValue, "log_every", "must be at least 1, got \(s.logEvery)") }
        return s
    }
}

extension TopologyParser {
    /// The keys `algorithm:` accepts: `name` and every field of `RLAlgorithmConfig` in snake_case.
    public static var algorithmKeys: [String] { AlgorithmSection.keys }
}
