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
        let check = BLAS.selfCheck()
        var out: [String: Any] = [
            "blas_core": BLAS.coreName,
            "blas_threads": BLAS.threads,
            "compute_threads": computeThreads,
            "kernels": VectorMath.kernelSet,
            "openblas_coretype_env": ProcessInfo.processInfo.environment[BLASCoreType.variable] ?? "",
            // JSON has no infinity: a NaN or infinite product is reported as the string "inf".
            "sgemm_max_abs_error_vs_naive": check.maxAbsError.isFinite ? Double(check.maxAbsError) as Any : "inf",
            "sgemm_correct": check.passed,
        ]
        if !noPeak { out["sgemm_peak_gflops"] = (BLAS.measurePeakGFLOPS() * 10).rounded() / 10 }
        try printJSON(out)
        if !check.passed { throw ExitCode(3) }
    }
}
