// The script itself: bash, for what Slurm gives a batch script (mapfile, associative arrays:
// bash 4.4 or later, which every supported Linux has).

extension SlurmBatchScript {
    /// The batch script, ready for `sbatch`.
    /// - Parameters:
    ///   - topologyPath: shown in its header.
    ///   - command: the command line that wrote it, shown in its header.
    public func text(topologyPath: String, command: String) -> String {
        let q = ShellWord.quote
        let coordinator = steps.first(where: \.holdsCoordinator)?.host ?? steps.first?.host ?? ""
        var s = """
            #!/bin/bash
            # Step 3 of \(topologyPath) on Slurm, written by `\(command)`
            # (Docs/topology.md, "Slurm"). Submit it with `sbatch THIS_FILE`: sbatch's own options
            # (--time, --partition, --account) override the #SBATCH lines below.
            #
            # One job step per host of the topology, each `rlhf launch FILE --host H --no-affinity` on
            # its node: that launcher starts the host's roles, restarts the stateless ones and pings them
            # all, as outside Slurm; Slurm gives the step its CPUs, so roles are not pinned to `cores`.
            # Hosts go to the allocation's nodes by name (a host named like a node runs there), the
            # others to the remaining nodes in order. The job's exit status is the coordinator's step's;
            # a step that fails first ends the job too. Then the steps still running get SIGTERM.
            # `scancel JOBID` stops every step the same way (their launchers stop their roles), and so
            # does the time limit, \(stopBeforeTimeLimitSeconds) s before it (SIGUSR1 to this script).
            #SBATCH --job-name=\(jobName)
            #SBATCH --nodes=\(steps.count)
            #SBATCH --ntasks-per-node=1
            #SBATCH --cpus-per-task=\(steps.map(\.cpus).max() ?? 1)
            #SBATCH --chdir=\(q(workingDirectory))
            #SBATCH --output=\(q(logDirectory + "/slurm-%j.out"))
            #SBATCH --signal=B:USR1@\(stopBeforeTimeLimitSeconds)
            set -u
            if [[ -z ${SLURM_JOB_ID:-} ]]; then
                echo "rlhf: submit this script with sbatch: it starts job steps inside a Slurm allocation" >&2
                exit 2
            fi
            hosts=(\(steps.map(\.host).joined(separator: " ")))  # the topology's hosts that hold roles, in its order
            coordinator=\(coordinator)  # the host of the buffer role: its step's end is the run's

            # Each host to a node: a node of its name first, then the remaining nodes in order.
            mapfile -t nodes < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
            declare -A node_of=() taken=()
            for host in "${hosts[@]}"; do
                for node in "${nodes[@]}"; do
                    if [[ $node == "$host" ]]; then node_of[$host]=$node; taken[$node]=1; fi
                done
            done
            free=()
            for node in "${nodes[@]}"; do [[ -n ${taken[$node]:-} ]] || free+=("$node"); done
            for host in "${hosts[@]}"; do
                [[ -n ${node_of[$host]:-} ]] && continue
                if (( ${#free[@]} == 0 )); then
                    echo "rlhf: the allocation's nodes (${nodes[*]}) are fewer than the topology's hosts (${hosts[*]})" >&2
                    exit 1
                fi
                node_of[$host]=${free[0]}
                free=("${free[@]:1}")
            done
            for host in "${hosts[@]}"; do echo "rlhf: host $host runs on node ${node_of[$host]}"; done

            # The steps; each one's output is appended to its log (each role's own log is
            # \(logDirectory)/ROLE.log, on the role's node).
            declare -A step_pid=()

            """
        for step in steps {
            s += """
                # host \(step.host): \(step.processes.joined(separator: ", "))\(step.holdsCoordinator ? " (the buffer is the coordinator)" : ""); \(step.cpus) CPU\(step.cpus == 1 ? "" : "s")
                srun --nodes=1 --ntasks=1 --nodelist="${node_of[\(step.host)]}" --cpus-per-task=\(step.cpus) --exact --cpu-bind=cores \\
                    --job-name=host-\(step.host) \\
                    \(ShellWord.commandLine(step.argv)) >> \(q(step.logFile)) 2>&1 &
                step_pid[\(step.host)]=$!

                """
        }
        s += """

            # Wait. The coordinator's step ending ends the run with its status; another step failing
            # first ends it too (a trainer's host is gone). `scancel --signal=TERM` reaches the steps'
            # processes, not this script (srun given SIGTERM would kill its step at once).
            declare -A running=()
            for host in "${hosts[@]}"; do running[$host]=1; done
            status=
            reap() {  # forgets the steps that ended; the first that ends the run sets status
                local host code
                for host in "${!running[@]}"; do
                    kill -0 "${step_pid[$host]}" 2>/dev/null && continue
                    wait "${step_pid[$host]}"; code=$?
                    unset "running[$host]"
                    echo "rlhf: host $host (node ${node_of[$host]}): its step ended with status $code"
                    if [[ -z $status ]] && { [[ $host == "$coordinator" ]] || (( code != 0 )); }; then status=$code; fi
                done
            }
            # Once only: a second SIGTERM makes a launcher kill its roles at once.
            stopping=
            stop_steps() { [[ -n $stopping ]] || { stopping=1; scancel --signal=TERM "$SLURM_JOB_ID" 2>/dev/null; }; }
            # scancel JOBID: Slurm itself sends SIGTERM to every step's processes (then SIGKILL after
            # its KillWait), and to this script.
            trap 'echo "rlhf: the job is cancelled: its steps are stopping"; stopping=1' TERM
            # The time limit is near: stop the steps now, while their checkpoints can be kept.
            trap 'echo "rlhf: the time limit is near: stopping every step"; stop_steps' USR1
            while [[ -z $status ]]; do
                reap
                [[ -n $status ]] || { sleep 1 & wait $!; }
            done
            if (( ${#running[@]} > 0 )); then
                echo "rlhf: the run ended; stopping the steps still running: ${!running[*]}"
                stop_steps
                for ((waited = 0; waited < \(stopGraceSeconds) && ${#running[@]} > 0; waited++)); do
                    sleep 1 & wait $!
                    reap
                done
            fi
            echo "rlhf: the run ended with status $status"
            exit "$status"

            """
        return s
    }
}
