// A supervisor for the orphan tests: starts `count` children that sleep, prints their pids,
// then supervises until a signal or a child's end and exits with the outcome's code. The tests
// kill this process (SIGKILL, SIGTERM) and check that no child outlives it.
//   supervisor-probe LOG_DIRECTORY COUNT
import Foundation
import Topology

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: supervisor-probe LOG_DIRECTORY COUNT\n".utf8))
    exit(2)
}
let supervisor = ProcessSupervisor(terminal: .silent)
supervisor.handleSignals()
for i in 0..<count {
    let spec = ChildSpec(name: "child\(i)", argv: ["sleep", "300"], logFile: "\(arguments[1])/child\(i).log")
    let pid = try supervisor.start(spec)
    print("pid child\(i) \(pid)")
}
print("ready")
fflush(nil)  // all streams: stdout is a pipe, fully buffered
let outcome = await supervisor.run(gracePeriod: .seconds(2), handleSignals: false)
print("outcome \(outcome.exitCode)")
exit(outcome.exitCode)
