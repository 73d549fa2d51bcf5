import Foundation
import Topology
import Yams

/// The pipeline's copy of a step-3 topology: the same file with the model paths pointed at the
/// pipeline's own step outputs and the run directory inside the pipeline's root, written beside
/// them so that `rlhf launch` (and every `rlhf serve` it starts) reads one file. The YAML tree is
/// edited, not the text, so a path that merely contains `runs/` elsewhere is left alone.
public enum TopologyOverride {
    /// What the pipeline sets in the topology it loads.
    public struct Paths: Sendable, Equatable {
        /// `models.actor.path` and `models.reference.path`: the SFT model.
        public var sft: String
        /// `models.reward.path` (when the reward is a model) and `models.critic.path`: the reward model.
        public var rewardModel: String
        /// `run.directory`; `transport.directory` too when the file sets one (`<run>/sockets`).
        public var runDirectory: String

        public init(sft: String, rewardModel: String, runDirectory: String) {
            self.sft = sft
            self.rewardModel = rewardModel
            self.runDirectory = runDirectory
        }
    }

    /// Reads `source`, applies `paths`, writes the result to `destination` atomically and checks
    /// it as `rlhf launch` will.
    /// - Returns: the parsed topology.
    /// - Throws: `TopologyErrors` for faults of the source or of the rewritten file.
    @discardableResult
    public static func write(source: String, paths: Paths, to destination: String) throws -> TopologySpec {
        let text: String
        do {
            text = try String(contentsOfFile: source, encoding: .utf8)
        } catch {
            throw TopologyErrors([TopologyError(.unreadable, file: source, "cannot read the topology file: \(error.localizedDescription)")])
        }
        let rewritten = try apply(paths, toYAML: text, file: source)
        let header = "# Written by `rlhf pipeline` from \(source): models and run directory are the pipeline's step outputs.\n"
        try Data((header + rewritten).utf8).write(to: URL(fileURLWithPath: destination), options: .atomic)
        return try TopologyParser.load(path: destination)
    }

    /// `text` with `paths` applied, as YAML.
    public static func apply(_ paths: Paths, toYAML text: String, file: String) throws -> String {
        let parsed: Node?
        do {
            parsed = try Yams.compose(yaml: text)
        } catch {
            throw TopologyErrors([TopologyError(.syntax, file: file, "not valid YAML: \(error)")])
        }
        guard var root = parsed, root.mapping != nil else {
            throw TopologyErrors([TopologyError(.syntax, file: file, "expected a mapping of sections at the top level")])
        }
        root = setting(root, ["run", "directory"], to: paths.runDirectory)
        if lookup(root, ["transport", "directory"]) != nil {
            root = setting(root, ["transport", "directory"], to: (paths.runDirectory as NSString).appendingPathComponent("sockets"))
        }
        root = setting(root, ["models", "actor", "path"], to: paths.sft)
        root = setting(root, ["models", "reference", "path"], to: paths.sft)
        // A rule or program reward stays as it is; only a reward model is the pipeline's.
        if let reward = lookup(root, ["models", "reward"]), lookup(reward, ["path"]) != nil {
            root = setting(root, ["models", "reward", "path"], to: paths.rewardModel)
        }
        root = setting(root, ["models", "critic", "path"], to: paths.rewardModel)
        return try Yams.serialize(node: root)
    }

    /// The value at `path` in nested mappings, if there is one.
    static func lookup(_ node: Node, _ path: [String]) -> Node? {
        guard let first = path.first else { return node }
        guard let mapping = node.mapping, let pair = mapping.first(where: { $0.key.scalar?.string == first }) else { return nil }
        return lookup(pair.value, Array(path.dropFirst()))
    }

    /// `node` with the scalar at `path` set to `value`, creating mappings on the way when absent
    /// (or null). The key keeps its place in the file.
    static func setting(_ node: Node, _ path: [String], to value: String) -> Node {
        guard let first = path.first else { return Node(value) }
        let rest = Array(path.dropFirst())
        let mapping = node.mapping ?? Node.Mapping([])
        var pairs = mapping.map { ($0.key, $0.value) }
        if let i = pairs.firstIndex(where: { $0.0.scalar?.string == first }) {
            pairs[i].1 = setting(pairs[i].1, rest, to: value)
        } else {
            pairs.append((Node(first), setting(Node.mapping(Node.Mapping([])), rest, to: value)))
        }
        // Block style: a flow mapping like `actor: {path: x}` may now hold a long path.
        return Node.mapping(Node.Mapping(pairs, mapping.tag, .block, mapping.mark))
    }
}
