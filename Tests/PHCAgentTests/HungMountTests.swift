#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCAgent

/// A genuinely hung mount: bindfs (FUSE) with its daemon stopped by SIGSTOP, so
/// statfs on it blocks in the kernel until the daemon continues.
@Suite("Hung mount", .serialized, .enabled(if: Mounts.bindfsAvailable, "needs root, /dev/fuse and bindfs"))
struct HungMountTests {
    /// Probe processes that stay alive for a second (those of healthy mounts end in milliseconds).
    static func lingeringProbes() async throws -> Set<Int32> {
        let first = Command.pids(named: "phc-fsprobe")
        try await Task.sleep(for: .seconds(1))  // not usleep: a test must not hold a thread of the shared pool
        return first.intersection(Command.pids(named: "phc-fsprobe"))
    }

    @Test("the agent finishes inside its deadline, reports the mount crit, and never stacks probes")
    func hungMount() async throws {
        let sandbox = try AgentSandbox()
        defer { sandbox.remove() }
        let source = try sandbox.directory.folder("source")
        try sandbox.directory.write("source/markers/backup.json", #"{"completed_at":"2026-01-01T00:00:00Z"}"#)
        let mountPoint = sandbox.directory.file("space")
        let fuse = try FrozenFUSEMount(source: source, mountPoint: mountPoint)
        defer { fuse.tearDown() }
        let healthy = sandbox.directory.file("flux")
        try Mounts.tmpfs(at: healthy)
        let configPath = sandbox.directory.file("agent.yaml")
        _ = try sandbox.configuration(
            checks: """
                  mounts:
                    - path: \(mountPoint)
                      timeout: 1s
                      write_probe: true
                    - path: \(healthy)
                      timeout: 1s
                      write_probe: true
                  markers:
                    - path: \(mountPoint)/markers/backup.json
                      max_age: {warn: 26h, crit: 48h}
                """, deadline: "4s")
        let before = try await Self.lingeringProbes()
        fuse.freeze()

        // First run: the statfs probe blocks; the agent walks away from it in time.
        let first = try await Command.run(Command.built("phc-agent"), ["run", "--config", configPath], timeout: 30)
        #expect(first.status == 0, "\(first.stderr)")
        // Generous for loaded machines: a hung statfs would hold the run for the whole 30 s.
        #expect(first.seconds < 8, "took \(first.seconds) s with a 4 s deadline")
        let manifest = try sandbox.published()
        let hung = try #require(manifest.check("mount:\(mountPoint)"))
        #expect(hung.status == .crit)
        #expect(hung.summary.contains("not responding: statfs gave no answer within 1s"), "\(hung.summary)")
        #expect(manifest.check("mount:\(healthy)")?.status == .ok)
        let marker = try #require(manifest.check("marker:\(mountPoint)/markers/backup.json"))
        #expect(marker.status == .unknown)
        #expect(marker.summary == "not checked: \(mountPoint) is not responding")
        let probes = try await Self.lingeringProbes().subtracting(before)
        #expect(probes.count == 1, "blocked probes after run 1: \(probes)")

        // Second run: the blocked probe is recognised and no second one is started.
        let second = try await Command.run(Command.built("phc-agent"), ["run", "--config", configPath], timeout: 30)
        #expect(second.status == 0)
        #expect(second.seconds < 8, "took \(second.seconds) s with a 4 s deadline")
        let again = try #require(try sandbox.published().check("mount:\(mountPoint)"))
        #expect(again.status == .crit)
        #expect(again.summary.contains("not probed again"), "\(again.summary)")
        #expect(again.observations["probe_pid"] == .int(Int64(probes.first ?? 0)))
        #expect(try await Self.lingeringProbes().subtracting(before) == probes)

        // The daemon continues: the old probe finishes by itself and the mount is ok again.
        fuse.thaw()
        try await Task.sleep(for: .milliseconds(300))
        let third = try await Command.run(Command.built("phc-agent"), ["run", "--config", configPath], timeout: 30)
        #expect(third.status == 0)
        #expect(try sandbox.published().check("mount:\(mountPoint)")?.status == .ok)
        #expect(try await Self.lingeringProbes().subtracting(before).isEmpty)
    }

    @Test(
        "with the devices folder on the hung mount, the manifest is spooled in time and the mount keeps one probe",
        arguments: [false, true])
    func devicesFolderOnHungMount(mountConfigured: Bool) async throws {
        let sandbox = try AgentSandbox()
        defer { sandbox.remove() }
        let source = try sandbox.directory.folder("source")
        try FileManager.default.createDirectory(atPath: source + "/devices", withIntermediateDirectories: true)
        let mountPoint = sandbox.directory.file("space")
        let fuse = try FrozenFUSEMount(source: source, mountPoint: mountPoint)
        defer { fuse.tearDown() }
        sandbox.devicesDir = mountPoint + "/devices"
        let checks = mountConfigured ? "  mounts:\n    - {path: \(mountPoint), timeout: 1s}\n" : ""
        _ = try sandbox.configuration(checks: checks, deadline: "3s")
        let configPath = sandbox.directory.file("agent.yaml")
        let before = try await Self.lingeringProbes()
        fuse.freeze()
        // The binary, in a process of its own: its deadline is measured as the timer would see it.
        for run in 1...2 {
            let result = try await Command.run(
                Command.built("phc-agent"), ["run", "--config", configPath], timeout: 30)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.seconds < 7, "run \(run) took \(result.seconds) s with a 3 s deadline")
            #expect(result.stdout.hasPrefix("spooled sequence \(run) "), "\(result.stdout)")
            #expect(result.stdout.contains("is not responding; \(run) waiting in "), "\(result.stdout)")
            let probes = try await Self.lingeringProbes().subtracting(before)
            #expect(probes.count == 1, "run \(run): blocked probes \(probes)")
        }
        fuse.thaw()
        // Once the share answers again, the spooled manifests are delivered as a backlog. (A loaded
        // machine may take a moment to let the thawed FUSE daemon answer: a run that still finds the
        // share slow spools once more, and the backlog then holds that one too.)
        var delivered = ""
        for _ in 0..<10 where delivered.isEmpty {
            try await Task.sleep(for: .milliseconds(300))
            let next = try await Command.run(Command.built("phc-agent"), ["run", "--config", configPath], timeout: 30)
            if next.stdout.contains("; delivered backlog ") { delivered = next.stdout }
        }
        #expect(delivered.contains("; delivered backlog backlog-1-"), "\(delivered)")
    }
}
