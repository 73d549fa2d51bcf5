import ArgumentParser

/// `rlhf replay ...`: look at a finished (or running) step-3 run through what it recorded.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Look at a step-3 run: its experience log, its samples, its report.",
        subcommands: [ReplayReportCommand.self]
    )
}
