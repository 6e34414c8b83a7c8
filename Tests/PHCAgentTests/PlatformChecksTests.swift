#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Logging
import PHCConfig
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCAgent

@Suite("Kernel log, Tailscale, containers")
struct PlatformChecksTests {
    let now = Timestamp(rfc3339: "2026-11-27T10:00:00Z")!

    func context(memory: [String: [String: String]] = [:], now: Timestamp? = nil) -> CheckContext {
        CheckContext(
            device: "motoko", now: now ?? self.now, stateDir: "/nonexistent", memory: memory,
            probe: FilesystemProbe(stateDirectory: "/nonexistent"),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    // MARK: Kernel log

    @Test("new kernel-log records are found once, held for a while, and new ones found again")
    func kernelLog() async throws {
        // A kmsg-format source the test owns: the host's kernel log is never written.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try directory.write("kmsg", "6,1,0,-;Linux version 6.11.4\n")
        let marker = "phc-test-\(UInt64.random(in: 1...UInt64.max))"
        var sequence = 1
        func log(_ line: String) throws {
            sequence += 1
            let handle = try #require(FileHandle(forWritingAtPath: source))
            defer { try? handle.close() }
            try handle.seekToEnd()
            let priority = line.dropFirst().prefix { $0 != ">" }
            try handle.write(
                contentsOf: Data(
                    "\(priority),\(sequence),\(sequence * 1000),-;\(line.drop { $0 != ">" }.dropFirst())".utf8))
        }
        try log("<3>\(marker) NVRM: Xid (PCI:0000:01:00): 79, pid=0, GPU has fallen off the bus.\n")
        let configuration = KernelLogCheckConfiguration(
            patterns: ["\(marker) NVRM: Xid", "\(marker) critical medium error"], source: source)
        let check = KernelLogCheck(configuration)
        let first = await check.run(in: context())
        #expect(first.results[0].status == .warn)
        #expect(
            first.results[0].summary.hasPrefix(
                "1 new kernel line since boot: 1× \(marker) NVRM: Xid; first: \(marker) NVRM: Xid (PCI:0000:01:00): 79")
        )
        #expect(first.results[0].observations["lines_matched"] == .int(1))

        let second = await check.run(in: context(memory: first.memory, now: now + 60))
        #expect(second.results[0].status == .warn, "held for an hour")
        #expect(second.results[0].observations["lines_matched"] == .int(0))
        #expect(second.results[0].summary.hasSuffix("(1m ago)"))

        let later = await check.run(in: context(memory: second.memory, now: now + 7200))
        #expect(later.results[0].status == .ok)
        #expect(later.results[0].summary.hasPrefix("no matching kernel lines since the last run"))

        try log("<2>\(marker) critical medium error, dev sda, sector 123456 op 0x0:(READ)\n")
        let third = await check.run(in: context(memory: later.memory, now: now + 7260))
        #expect(third.results[0].status == .crit)
        #expect(third.results[0].summary.contains("1× \(marker) critical medium error"))
    }

    @Test("a kmsg-format file works too; broken records are skipped")
    func kernelLogFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write(
            "kmsg",
            "6,1,0,-;Linux version 6.11.4\n3,2,100,-;CIFS: VFS: \\\\motoko Send error in SessSetup = -11\n"
                + " SUBSYSTEM=cifs\nnot a record\n3,3,200,-;BTRFS error (device nvme0n1p3): bdev /dev/nvme0n1p3 errs: wr 1\n"
        )
        let result = await KernelLogCheck(KernelLogCheckConfiguration(source: file)).run(in: context()).results[0]
        #expect(result.status == .crit)
        #expect(
            result.summary.hasPrefix("2 new kernel lines since boot: 1× BTRFS error, 1× CIFS: VFS; first: CIFS: VFS:"))
        let missing = await KernelLogCheck(KernelLogCheckConfiguration(source: directory.file("none"))).run(
            in: context())
        #expect(missing.results[0].status == .unknown && missing.results[0].summary.hasPrefix("cannot read"))
    }

    // MARK: Tailscale

    static func tailscaleJSON(backend: String = "Running", online: Bool = true, expiry: String?, health: [String] = [])
        -> String
    {
        let expiryField = expiry.map { #""KeyExpiry": "\#($0)","# } ?? ""
        let healthField = health.isEmpty ? "null" : "[" + health.map { "\"\($0)\"" }.joined(separator: ",") + "]"
        return """
            {
              "Version": "1.76.6-t6f8f06f0a-g4b7c7c0b4",
              "TUN": true,
              "BackendState": "\(backend)",
              "AuthURL": "",
              "TailscaleIPs": ["100.101.102.103", "fd7a:115c:a1e0::4a01:6667"],
              "Self": {
                "ID": "nJ8vKkXCNTRL", "PublicKey": "nodekey:5c1a0b2e", "HostName": "motoko",
                "DNSName": "motoko.tail1234.ts.net.", "OS": "linux", "UserID": 1234,
                "TailscaleIPs": ["100.101.102.103", "fd7a:115c:a1e0::4a01:6667"],
                \(expiryField)
                "Online": \(online), "ExitNode": false, "Active": true
              },
              "Health": \(healthField),
              "MagicDNSSuffix": "tail1234.ts.net",
              "CurrentTailnet": {"Name": "example.org", "MagicDNSSuffix": "tail1234.ts.net", "MagicDNSEnabled": true},
              "Peer": {
                "nodekey:aa": {"HostName": "armitage", "OS": "linux", "Online": true, "TailscaleIPs": ["100.64.0.2"]},
                "nodekey:bb": {"HostName": "wintermute", "OS": "linux", "Online": false, "TailscaleIPs": ["100.64.0.3"]}
              }
            }
            """
    }

    func tailscale(_ json: String) async throws -> CheckResult {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("status.json", json)
        let script = try directory.write(
            "tailscale", "#!/bin/sh\n[ \"$1 $2\" = \"status --json\" ] || exit 2\ncat '\(file)'\n", mode: 0o755)
        return await TailscaleCheck(TailscaleCheckConfiguration(tailscale: script)).run(in: context()).results[0]
    }

    @Test(
        "tailscale: running with a distant key expiry is ok; 20 days warn, 4 days crit; not running crit; health warns")
    func tailscaleStates() async throws {
        let fine = try await tailscale(Self.tailscaleJSON(expiry: "2027-02-01T00:00:00Z"))
        #expect(fine.status == .ok, "\(fine.summary)")
        #expect(fine.summary == "motoko, 100.101.102.103, 1/2 peers online, node key expires in 65d14h")
        #expect(fine.observations["peers_online"] == .int(1))
        let soon = try await tailscale(Self.tailscaleJSON(expiry: "2026-12-17T10:00:00Z"))
        #expect(soon.status == .warn && soon.summary.hasPrefix("node key expires in 20d"))
        let imminent = try await tailscale(Self.tailscaleJSON(expiry: "2026-12-01T10:00:00Z"))
        #expect(imminent.status == .crit && imminent.summary.hasPrefix("node key expires in 4d"))
        let expired = try await tailscale(Self.tailscaleJSON(expiry: "2026-11-01T00:00:00Z"))
        #expect(expired.status == .crit && expired.summary.hasPrefix("node key expired"))
        let stopped = try await tailscale(Self.tailscaleJSON(backend: "NeedsLogin", expiry: nil))
        #expect(stopped.status == .crit && stopped.summary.hasPrefix("backend is NeedsLogin, not Running"))
        let unhealthy = try await tailscale(
            Self.tailscaleJSON(expiry: nil, health: ["Tailscale can't reach the configured DNS servers."]))
        #expect(unhealthy.status == .warn && unhealthy.summary.hasPrefix("tailscaled says: Tailscale can't reach"))
        let garbage = try await tailscale("not json")
        #expect(garbage.status == .unknown)
    }

    // MARK: Containers

    /// Real `podman ps`/`inspect` captures with their state fields changed per scenario.
    func podman(
        _ directory: TemporaryDirectory,
        states: [String: (state: String, status: String, restarts: Int, health: String)]
    )
        throws -> String
    {
        var ps =
            try JSONSerialization.jsonObject(
                with: Repository.read(Repository.fixture("PHCAgentTests", "podman-ps-4.3.1.json"))) as! [[String: Any]]
        var inspect =
            try JSONSerialization.jsonObject(
                with: Repository.read(Repository.fixture("PHCAgentTests", "podman-inspect-4.3.1.json")))
            as! [[String: Any]]
        for index in ps.indices {
            let name = (ps[index]["Names"] as! [String])[0]
            guard let wanted = states[name] else { continue }
            ps[index]["State"] = wanted.state
            ps[index]["Status"] = wanted.status
        }
        for index in inspect.indices {
            let name = inspect[index]["Name"] as! String
            guard let wanted = states[name] else { continue }
            inspect[index]["RestartCount"] = wanted.restarts
            var state = inspect[index]["State"] as! [String: Any]
            state["Status"] = wanted.state
            state["Running"] = wanted.state == "running"
            state["Health"] = ["Status": wanted.health, "FailingStreak": 0, "Log": NSNull()]
            inspect[index]["State"] = state
        }
        let psFile = directory.file("ps.json")
        let inspectFile = directory.file("inspect.json")
        try JSONSerialization.data(withJSONObject: ps).write(to: URL(fileURLWithPath: psFile))
        try JSONSerialization.data(withJSONObject: inspect).write(to: URL(fileURLWithPath: inspectFile))
        return try directory.write(
            "podman",
            "#!/bin/sh\ncase \"$1\" in\n  ps) cat '\(psFile)' ;;\n  inspect) cat '\(inspectFile)' ;;\n  *) exit 125 ;;\nesac\n",
            mode: 0o755)
    }

    @Test(
        "containers: running and healthy is ok; a rising restart count is a restart loop; missing, stopped, unhealthy are crit"
    )
    func containers() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var script = try podman(
            directory,
            states: [
                "phc-ok": ("running", "Up 5 minutes (healthy)", 0, "healthy"),
                "phc-loop": ("running", "Up 2 seconds", 5, ""),
            ])
        let configuration = ContainersCheckConfiguration(podman: script, expect: ["phc-ok", "phc-loop"])
        let first = await ContainersCheck(configuration).run(in: context())
        #expect(first.results[0].status == .ok, "\(first.results[0].summary)")
        #expect(first.results[0].summary == "2 of 2 running")
        #expect(first.memory["containers"] == ["restarts.phc-ok": "0", "restarts.phc-loop": "5"])

        script = try podman(
            directory,
            states: [
                "phc-ok": ("running", "Up 6 minutes (unhealthy)", 0, "unhealthy"),
                "phc-loop": ("exited", "Exited (3) 1 second ago", 8, ""),
            ])
        let second = await ContainersCheck(
            ContainersCheckConfiguration(podman: script, expect: ["phc-ok", "phc-loop", "litellm"])
        )
        .run(in: context(memory: first.memory))
        let summary = second.results[0].summary
        #expect(second.results[0].status == .crit)
        #expect(summary.contains("litellm does not exist"))
        #expect(summary.contains("phc-loop is exited, exit code 0"))
        #expect(summary.contains("phc-ok is unhealthy"))
        #expect(summary.contains("phc-loop restarted 3 times since the last run (restart loop?)"))
    }

    @Test("containers: no podman is unknown where none are expected, crit where some are")
    func noPodman() async throws {
        let loose = await ContainersCheck(ContainersCheckConfiguration(podman: "phc-no-podman")).run(in: context())
        #expect(loose.results[0].status == .unknown)
        let strict = await ContainersCheck(ContainersCheckConfiguration(podman: "phc-no-podman", expect: ["litellm"]))
            .run(in: context())
        #expect(strict.results[0].status == .crit && strict.results[0].summary == "phc-no-podman: command not found")
    }
}
