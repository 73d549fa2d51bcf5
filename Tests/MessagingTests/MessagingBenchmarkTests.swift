import Foundation
import Messaging
import XCTest

/// Prints the round-trip latency and the throughput of a 4 MB tensor message over each transport
/// (figures for Docs/benchmarks.md; no timed assertion). MESSAGING_BENCH_ITERATIONS raises the count.
final class MessagingBenchmarkTests: XCTestCase {
    func testBenchmark_4MBTensorOverEachTransport() async throws {
        let iterations = Int(ProcessInfo.processInfo.environment["MESSAGING_BENCH_ITERATIONS"] ?? "") ?? 8
        let tensor = try TensorFrame(name: "w", shape: [1024, 1024], floats: [Float](repeating: 0.5, count: 1 << 20))
        let megabytes = Double(tensor.bytes.count) / 1e6
        for transport in ["inproc", "ipc", "tcp"] {
            let serverNode = try MessagingNode()
            let clientNode = transport == "inproc" ? serverNode : try MessagingNode()
            let address = try TestEndpoints.bindAddress(transport)
            defer { TestEndpoints.cleanUp(address) }
            let server = try await serverNode.server(bind: address)
            let service = TestEndpoints.serve(server)
            let client = try await clientNode.client(connect: server.endpoint)
            let request = Message(kind: TestEndpoints.echo, tensors: [tensor])
            _ = try await client.request(request, timeout: .seconds(30))  // warm up the connection

            let pingStart = ContinuousClock.now
            for _ in 0..<100 { _ = try await client.ping(timeout: .seconds(10)) }
            let ping = (ContinuousClock.now - pingStart) / 100

            let start = ContinuousClock.now
            for _ in 0..<iterations {
                let reply = try await client.request(request, timeout: .seconds(30))
                XCTAssertEqual(reply.tensors.first?.bytes.count, tensor.bytes.count)
            }
            let rtt = (ContinuousClock.now - start) / iterations
            // Four requests in flight: throughput of 4 MB payloads, both directions counted.
            let flowStart = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask { for _ in 0..<iterations { _ = try await client.request(request, timeout: .seconds(30)) } }
                }
                try await group.waitForAll()
            }
            let flow = ContinuousClock.now - flowStart
            let seconds = Double(flow.components.seconds) + Double(flow.components.attoseconds) * 1e-18
            let throughput = Double(4 * iterations * 2) * megabytes / seconds
            print(String(format: "messaging benchmark %@: ping %.1f us, 4 MB round trip %.2f ms, throughput %.0f MB/s (4 in flight, both directions)",
                         transport, ms(ping) * 1000, ms(rtt), throughput))
            await clientNode.shutdown()
            await serverNode.shutdown()
            await service.value
        }
    }

    private func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15 }
}
