import Tensor

/// Something that answers role requests: a role's actor.
public protocol RoleHandler: Actor {
    func handle(_ request: RoleRequest) async -> Result<RoleReply, RoleError>
    /// Ends the role: requests waiting in it fail, its threads end.
    func stop() async
}

extension RoleHandler {
    /// Nothing to end.
    public func stop() async {}
}

/// The thin actor around a role's logic: every call runs on the role's own thread (its
/// `ThreadExecutor`), so a forward pass never blocks Swift's cooperative pool and two roles in
/// one process compute side by side on their own threads.
public actor RoleWorker: RoleHandler {
    private let executor: ThreadExecutor
    private var logic: (any RoleLogic)?

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Starts the role's thread and builds its logic there (loading a model is heavy work too).
    /// - Parameters:
    ///   - name: the thread's name.
    ///   - context: the role's compute context (threads, cores), installed around every job.
    ///   - make: builds the logic.
    public static func start(name: String, context: ComputeContext,
                             make: @escaping @Sendable () throws -> any RoleLogic) async throws -> RoleWorker {
        let worker = RoleWorker(executor: ThreadExecutor(name: name, context: context))
        try await worker.load(make: make)
        return worker
    }

    private init(executor: ThreadExecutor) {
        self.executor = executor
    }

    private func load(make: @Sendable () throws -> any RoleLogic) throws {
        logic = try make()
    }

    public func handle(_ request: RoleRequest) -> Result<RoleReply, RoleError> {
        guard let logic else { return .failure(RoleError(.unavailable, "the role has stopped")) }
        do {
            return .success(try logic.handle(request))
        } catch let error as RoleError {
            return .failure(error)
        } catch {
            return .failure(RoleError(.failed, "\(logic.role.rawValue): \(error)"))
        }
    }

    /// Runs `body` on the role's thread with its logic (for role-specific calls such as the
    /// actor's weight hand-over).
    public func withLogic<T: Sendable>(_ body: (any RoleLogic) throws -> T) throws -> T {
        guard let logic else { throw RoleError(.unavailable, "the role has stopped") }
        return try body(logic)
    }

    /// Drops the logic (and its model) and lets the thread end.
    public func stop() {
        logic = nil
        executor.shutdown()
    }
}
