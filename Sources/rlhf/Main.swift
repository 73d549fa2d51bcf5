import ArgumentParser
import Foundation
import Tensor

/// Sets OPENBLAS_CORETYPE before OpenBLAS is used. The library reads it when it loads, which is
/// before any Swift code runs, so when it is missing the tool re-executes itself once with it set.
/// A user's own setting is left alone; RLHF_NO_REEXEC=1 turns this off.
func ensureFastBLASKernel() {
    let env = ProcessInfo.processInfo.environment
    if env[BLASCoreType.variable] != nil || env["RLHF_NO_REEXEC"] == "1" { return }
    guard let core = BLASCoreType.recommended(cpuFlags: BLASCoreType.cpuFlags()) else { return }
    setenv(BLASCoreType.variable, core, 1)
    setenv("RLHF_NO_REEXEC", "1", 1)
    let args = CommandLine.arguments
    var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
    cargs.append(nil)
    execv("/proc/self/exe", &cargs)
    // execv returns only on failure: carry on with the slower kernel rather than stop.
    FileHandle.standardError.write("warning: could not re-execute with \(BLASCoreType.variable)=\(core)\n".data(using: .utf8)!)
}

@main
struct RLHF: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rlhf",
        abstract: "An RLHF engine: SFT, reward models, PPO, DPO, with roles over ZeroMQ.",
        subcommands: [
            TrainCommand.self, EvalCommand.self, InitCommand.self, LogprobsCommand.self, GenerateCommand.self, TokenizerCommand.self,
            DataCommand.self, LoRACommand.self, ChatCommand.self,
            LaunchCommand.self, ServeCommand.self, KeysCommand.self, PipelineCommand.self, ReplayCommand.self, BenchCommand.self, EnvCommand.self,
        ]
    )

    static func main() {
        ensureFastBLASKernel()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
