import ArgumentParser
import Foundation
import Tensor

/// `rlhf env`: what this machine runs on, and whether its BLAS kernel computes right.
struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env", abstract: "Print the BLAS kernel in use, its threads, a correctness check and the sgemm peak.")

    @Flag(help: "Skip the sgemm peak measurement (about a second).")
    var noPeak = false

    func run() throws {
        let computeThreads = Parallel.threads  // first: making the context sets OpenBLAS to one thread
        let err = BLAS.selfCheck()
        var out: [String: Any] = [
            "blas_core": BLAS.coreName,
            "blas_threads": BLAS.threads,
            "compute_threads": computeThreads,
            "kernels": VectorMath.kernelSet,
            "openblas_coretype_env": ProcessInfo.processInfo.environment[BLASCoreType.variable] ?? "",
            "sgemm_max_abs_error_vs_naive": Double(err),
            "sgemm_correct": err < 1e-4,
        ]
        if !noPeak { out["sgemm_peak_gflops"] = (BLAS.measurePeakGFLOPS() * 10).rounded() / 10 }
        try printJSON(out)
        if err >= 1e-4 { throw ExitCode(3) }
    }
}
