import ArgumentParser
import Foundation
import Logging
import Replay
import Roles
import Topology

/// `rlhf serve --topology FILE --role NAME`: one role's process, as `rlhf launch` starts it.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run one step-3 role of a topology in this process (rlhf launch starts these).",
        discussion: "Roles: actor, reference, reward, critic, buffer (the experience buffer and the coordinator).")

    @Option(help: "The topology file.") var topology: String
    @Option(help: "The role to run.") var role: String
    @Option(help: "Which replica of a replicated role (reference, reward) this process is (0 ..< replicas).") var replica: Int?
    @Flag(help: "Continue from the latest checkpoint (the buffer role reads it; the others are told).") var resume = false

    func run() throws {
        guard let name = RoleName(rawValue: role) else {
            throw UsageError("--role \(role): expected one of \(RoleName.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        // The launcher checked `cores:` against the machine and pinned this process to its role's
        // cores: checked again here, the other roles' cores would look unavailable.
        // Only this role's files are checked: its host may hold nothing else.
        let unchecked = try TopologyParser.load(path: topology, options: TopologyValidator.Options(checkFiles: false, localHosts: []))
        let host = unchecked.roles[name]?.host
        let spec = try TopologyParser.load(path: topology, options: TopologyValidator.Options(localHosts: [], fileHosts: host.map { [$0] } ?? []))
        var plan = try spec.runPlan()
        // Over tcp this process speaks as its role's host (its key pair from transport.keys).
        plan.curve = try host.flatMap { try spec.curveSecurity(forHost: $0) }
        guard plan.roles.contains(name) else {
            throw UsageError("--role \(role): this topology's \(plan.algorithm.algorithm.rawValue) run has no \(role) role")
        }
        if let replica {
            let count = plan.endpoints(of: name).count
            guard (0..<count).contains(replica) else {
                throw UsageError("--replica \(replica): the \(role) role has \(count) replica(s) in this topology (0 ..< \(count))")
            }
        }
        let logger = RoleLogging.logger(replica.map { "\(name.rawValue)-\($0)" } ?? name.rawValue)
        let resume = self.resume, replica = self.replica
        // The coordinator (the buffer role) records every batch the trainers consume.
        let recorder = name == .buffer ? try ExperienceLog.forRun(plan: plan, topologyFile: topology) { logger.notice("\($0)") } : nil
        _ = try runAsync { [plan] in
            try await RoleProcess.run(plan: plan, roles: [name], replica: replica, resume: resume, recorder: recorder, logger: logger)
        }
    }
}

/// Log lines of role processes: plain text on stderr, which the launcher prefixes with the
/// role's name and copies into the role's log file.
enum RoleLogging {
    static func logger(_ label: String) -> Logger {
        var logger = Logger(label: label) { _ in StreamLogHandler.standardError(label: label) }
        logger.logLevel = ProcessInfo.processInfo.environment["RLHF_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        return logger
    }
}
