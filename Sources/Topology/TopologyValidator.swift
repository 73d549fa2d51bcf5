import CProcessSpawn
import Foundation
import Yams

/// The checks that need the whole spec, the file system or this machine: hosts, devices,
/// threads, ports, cores, model directories and data files. `TopologyParser` runs them before
/// anything starts, placing each fault at the key it concerns.
public struct TopologyValidator: Sendable {
    /// Which checks look outside the file.
    public struct Options: Sendable {
        /// Check that model directories hold `config.json` and data files exist. Off for tests of
        /// shipped topologies whose models a test machine has not trained.
        public var checkFiles: Bool
        /// Relative paths are resolved against this directory; nil is the current directory.
        public var baseDirectory: String?
        /// The hosts whose `cores:` are checked against `allowedCores`; nil means every host whose
        /// address is loopback (the others are checked when `rlhf launch --host` runs there).
        public var localHosts: Set<String>?
        /// CPUs this process may use; nil asks the kernel (sched_getaffinity).
        public var allowedCores: [Int]?
        /// The hosts whose roles' files are checked (`rlhf launch --host`, `rlhf serve`); nil
        /// checks every role's. A host needs only the files its own roles open.
        public var fileHosts: Set<String>?

        /// - Parameters:
        ///   - checkFiles: check model directories and data files.
        ///   - baseDirectory: base of relative paths (nil: current directory).
        ///   - localHosts: hosts whose cores are checked (nil: loopback hosts).
        ///   - allowedCores: usable CPUs (nil: this process's affinity).
        ///   - fileHosts: the hosts whose roles' files are checked (nil: every role's).
        public init(checkFiles: Bool = true, baseDirectory: String? = nil, localHosts: Set<String>? = nil, allowedCores: [Int]? = nil,
                    fileHosts: Set<String>? = nil) {
            self.fileHosts = fileHosts
            self.checkFiles = checkFiles
            self.baseDirectory = baseDirectory
            self.localHosts = localHosts
            self.allowedCores = allowedCores
        }
    }

    public var options: Options

    /// - Parameter options: which checks look outside the file.
    public init(options: Options = .init()) { self.options = options }

    /// The CPUs this process may run on.
    public static func allowedCores() -> [Int] {
        var cpus = [Int32](repeating: 0, count: 1024)
        let n = Int(rlhf_allowed_cpus(&cpus, Int32(cpus.count)))
        return cpus.prefix(n).map(Int.init)
    }

    /// Checks a spec built in code (faults have no line).
    /// - Throws: `TopologyErrors`.
    public func validate(_ spec: TopologySpec) throws {
        let errors = check(spec, top: nil)
        if !errors.isEmpty { throw TopologyErrors(errors) }
    }

    /// Every fault of `spec`, placed at its key in `top` when the spec came from a file.
    func check(_ spec: TopologySpec, top: YAMLMapping?) -> [TopologyError] {
        var errors: [TopologyError] = []
        func fail(_ code: TopologyError.Code, _ path: [String], _ message: String) {
            let node = top.flatMap { locate(path, in: $0.node) }
            errors.append(TopologyError(code, file: spec.file, line: node?.mark?.line ?? 0, column: node?.mark?.column ?? 0,
                                        key: path.joined(separator: "."), message))
        }
        let allowed = options.allowedCores ?? Self.allowedCores()
        var bound: [String: TopologyRole] = [:]  // "address:port" -> first role there
        let firstHost = spec.activeRoles.first.flatMap { spec.roles[$0]?.host }

        for role in spec.activeRoles {
            guard let r = spec.roles[role] else { continue }
            let at = ["roles", role.rawValue]
            guard let host = spec.hosts[r.host] else {
                fail(.unknownHost, at + ["host"], "unknown host \"\(r.host)\"; hosts: " + spec.hosts.keys.sorted().joined(separator: ", "))
                continue
            }
            if r.device != "cpu" {
                fail(.unsupportedDevice, at + ["device"],
                     "\"\(r.device)\": this build runs on cpu only; GPU backends are not built (use device: cpu)")
            }
            if r.threads < 1 { fail(.invalidValue, at + ["threads"], "must be at least 1, got \(r.threads)") }
            if r.replicas < 1 || r.replicas > Self.maxReplicas {
                fail(.invalidValue, at + ["replicas"], "must be from 1 to \(Self.maxReplicas), got \(r.replicas)")
            } else if r.replicas > 1, !Self.replicable.contains(role) {
                fail(.unsupported, at + ["replicas"], "\(r.replicas) replicas of \(role.rawValue): only the stateless roles (generator, reference, reward) have replicas; a trainer (actor, critic) or the buffer runs once. To generate with several processes, add a generator role with replicas")
            }
            if let restarts = r.restarts {
                if !(0...Self.maxRestarts).contains(restarts) {
                    fail(.invalidValue, at + ["restarts"], "must be from 0 to \(Self.maxRestarts), got \(restarts)")
                } else if restarts > 0, !Self.replicable.contains(role) {
                    fail(.unsupported, at + ["restarts"], "\(role.rawValue) holds state a new process would not have (weights in training, the run's schedule); its death stops the run, and --resume continues from the last checkpoint: restarts must be 0")
                }
            }
            if let cores = r.cores {
                if cores.isEmpty { fail(.invalidValue, at + ["cores"], "an empty list pins to no CPU; leave cores out to use any") }
                if Set(cores).count != cores.count { fail(.invalidValue, at + ["cores"], "lists a CPU twice: \(cores)") }
                let local = options.localHosts.map { $0.contains(host.name) } ?? host.isLoopback
                let outside = cores.filter { !allowed.contains($0) }
                if local, !outside.isEmpty {
                    fail(.coresOutOfRange, at + ["cores"],
                         "CPU \(outside.map(String.init).joined(separator: ", ")) not available on this machine (usable: \(ranges(allowed)))")
                }
            }
            if spec.transport.kind == .inproc, r.host != firstHost {
                fail(.invalidValue, at + ["host"], "transport inproc runs every role in one process, so on one host; "
                     + "this role is on \"\(r.host)\", \(spec.activeRoles[0].rawValue) on \"\(firstHost ?? "")\" (use ipc or tcp)")
            }
            if spec.transport.kind == .ipc, r.host != firstHost {
                fail(.invalidValue, at + ["host"], "transport ipc connects Unix sockets on one machine; "
                     + "this role is on \"\(r.host)\", \(spec.activeRoles[0].rawValue) on \"\(firstHost ?? "")\" (use tcp across hosts)")
            }
            if spec.transport.kind == .tcp {
                for replica in 0..<max(1, min(r.replicas, Self.maxReplicas)) {
                    let port = spec.port(for: role, replica: replica)
                    if !(1...65535).contains(port) {
                        fail(.invalidValue, at + ["port"], "must be a port number (1...65535), got \(port)")
                    } else if let other = bound["\(host.address):\(port)"] {
                        fail(.portConflict, at + [r.port == nil ? "host" : "port"],
                             "\(role.rawValue) and \(other.rawValue) would both bind \(host.address):\(port) (host \(r.host))")
                    } else {
                        bound["\(host.address):\(port)"] = role
                    }
                }
            }
        }
        checkTransportSecurity(spec, fail)
        if options.checkFiles { checkFiles(spec, fail) }
        return errors
    }

    /// The roles that may have replicas, and how many at most.
    public static let replicable: Set<TopologyRole> = [.generator, .reference, .reward]
    static let maxReplicas = 32
    static let maxRestarts = 100

    /// The files each role opens: the model directories it loads (`config.json` checked), and
    /// other files that must exist. The buffer (the coordinator) tokenizes the prompts with the
    /// actor's tokenizer, so it needs the actor's `tokenizer.model` (or `tokenizer.json`), not its
    /// weights.
    static func files(of role: TopologyRole, in spec: TopologySpec) -> (models: [([String], String)], files: [([String], String)]) {
        let actor = (["models", "actor", "path"], spec.models.actorPath)
        switch role {
        case .actor:
            return ([actor], spec.data.ptx.map { [(["data", "ptx"], $0)] } ?? [])
        case .generator:
            return ([actor], [])
        case .reference:
            return ([(["models", "reference", "path"], spec.models.referencePath)], [])
        case .reward:
            return (spec.models.reward.modelPath.map { [(["models", "reward", "path"], $0)] } ?? [], [])
        case .critic:
            return (spec.models.criticPath.map { [(["models", "critic", "path"], $0)] } ?? [], [])
        case .buffer:
            var files = [(["data", "prompts"], spec.data.prompts), (["models", "actor", "path"], spec.models.actorPath + "/tokenizer.model")]
            if let e = spec.data.evalPrompts { files.append((["data", "eval_prompts"], e)) }
            return ([], files)
        }
    }

    private func checkFiles(_ spec: TopologySpec, _ fail: (TopologyError.Code, [String], String) -> Void) {
        var checked = Set<String>()
        for role in spec.activeRoles {
            if let hosts = options.fileHosts, let host = spec.roles[role]?.host, !hosts.contains(host) { continue }
            let (models, files) = Self.files(of: role, in: spec)
            for (key, path) in models where checked.insert(key.joined(separator: ".") + path).inserted {
                let config = resolve(path) + "/config.json"
                if !FileManager.default.fileExists(atPath: config) {
                    fail(.missingFile, key, "no model at \"\(path)\" (\(config) does not exist), which the \(role.rawValue) role opens; "
                         + "train it first (Scripts/quickstart writes runs/sft and runs/rm), or copy it to this host")
                }
            }
            for (key, path) in files where checked.insert(key.joined(separator: ".") + path).inserted {
                if path.hasSuffix("/tokenizer.model") {
                    let directory = resolve(String(path.dropLast("/tokenizer.model".count)))
                    if !["tokenizer.model", "tokenizer.json"].contains(where: { FileManager.default.fileExists(atPath: "\(directory)/\($0)") }) {
                        fail(.missingFile, key, "no tokenizer.model or tokenizer.json in \"\((path as NSString).deletingLastPathComponent)\", "
                             + "which the \(role.rawValue) role reads to tokenize the prompts")
                    }
                } else if !FileManager.default.fileExists(atPath: resolve(path)) {
                    fail(.missingFile, key, "file \"\(path)\" does not exist, which the \(role.rawValue) role opens")
                }
            }
        }
    }

    private func resolve(_ path: String) -> String { TopologyPath.resolve(path, against: options.baseDirectory) }

    /// The deepest node along `path` (so a default that breaks a rule points at its section).
    private func locate(_ path: [String], in root: Node) -> Node? {
        var node = root
        var best: Node? = nil
        for name in path {
            guard let mapping = node.mapping,
                  let (keyNode, value) = mapping.first(where: { $0.key.scalar?.string == name }) else { return best }
            best = value.scalar != nil || value.sequence != nil ? value : keyNode
            node = value
        }
        return best
    }

    /// `0-3, 6` for a sorted list of CPUs.
    private func ranges(_ cpus: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        while i < cpus.count {
            var j = i
            while j + 1 < cpus.count, cpus[j + 1] == cpus[j] + 1 { j += 1 }
            parts.append(i == j ? "\(cpus[i])" : "\(cpus[i])-\(cpus[j])")
            i = j + 1
        }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }
}
