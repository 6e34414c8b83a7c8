import Foundation
import Logging
import PHCConfig
import PHCCore
import PHCTestSupport
import Testing

@testable import PHCAgent

@Suite("systemd units and timers")
struct SystemdTests {
    let now = Timestamp(rfc3339: "2026-11-27T10:00:00Z")!

    func context(_ directory: TemporaryDirectory, memory: [String: [String: String]] = [:]) -> CheckContext {
        CheckContext(
            device: "testhost", now: now, stateDir: directory.file("state"), memory: memory,
            probe: FilesystemProbe(stateDirectory: directory.file("state")),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    /// A stand-in `systemctl` that prints `systemctl show` blocks in the order asked, as the real one does.
    func fakeSystemctl(_ directory: TemporaryDirectory, blocks: [String: String]) throws -> String {
        var script =
            "#!/bin/sh\n# args: show --no-pager --timestamp=utc -p PROPS UNIT...\nshift 5\nfirst=1\nfor unit in \"$@\"; do\n"
        script += "  [ $first = 1 ] || echo\n  first=0\n  case \"$unit\" in\n"
        for (unit, block) in blocks {
            script += "    \(unit)) cat <<'EOF'\n\(block)\nEOF\n    ;;\n"
        }
        script +=
            "    *) printf 'Id=%s\\nLoadState=not-found\\nActiveState=inactive\\nSubState=dead\\n' \"$unit\" ;;\n  esac\ndone\n"
        return try directory.write("systemctl", script, mode: 0o755)
    }

    @Test(
        "units: running ok, failed crit, missing crit, active (exited) checked through its process, restarts rising warn"
    )
    func units() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let systemctl = try fakeSystemctl(
            directory,
            blocks: [
                "litellm.service":
                    "Id=litellm.service\nLoadState=loaded\nActiveState=active\nSubState=running\nResult=success\nNRestarts=3\nType=simple",
                "broken.service":
                    "Id=broken.service\nLoadState=loaded\nActiveState=failed\nSubState=failed\nResult=exit-code\nNRestarts=0",
                "oneshot.service":
                    "Id=oneshot.service\nLoadState=loaded\nActiveState=active\nSubState=exited\nResult=success\nNRestarts=0\nType=oneshot",
            ])
        let check = SystemdCheck(
            SystemdConfiguration(
                units: [
                    UnitExpectation(name: "litellm.service"), UnitExpectation(name: "broken.service"),
                    UnitExpectation(name: "gone.service"),
                    UnitExpectation(name: "oneshot.service", process: "phc-no-such-process"),
                ],
                systemctl: systemctl))
        let report = await check.run(in: context(directory, memory: ["unit:litellm.service": ["n_restarts": "1"]]))
        let byID = Dictionary(uniqueKeysWithValues: report.results.map { ($0.id, $0) })
        #expect(byID["unit:litellm.service"]?.status == .warn)
        #expect(
            byID["unit:litellm.service"]?.summary
                == "restarted 2 times since the last run; active (running), 3 restarts")
        #expect(byID["unit:broken.service"]?.status == .crit)
        #expect(byID["unit:broken.service"]?.summary.hasPrefix("failed (result exit-code)") == true)
        #expect(byID["unit:gone.service"]?.status == .crit)
        #expect(byID["unit:gone.service"]?.summary.hasPrefix("unit not found") == true)
        #expect(byID["unit:oneshot.service"]?.status == .crit)
        #expect(
            byID["unit:oneshot.service"]?.summary.hasPrefix(
                "active (exited) but its process 'phc-no-such-process' is not running") == true)
        #expect(report.memory["unit:litellm.service"] == ["n_restarts": "3"])
    }

    @Test("a oneshot unit active (exited) is judged by its container: running ok, exited or missing crit")
    func containerPayload() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let exited = "LoadState=loaded\nActiveState=active\nSubState=exited\nResult=success\nNRestarts=0\nType=oneshot"
        let systemctl = try fakeSystemctl(
            directory,
            blocks: [
                "litellm.service": "Id=litellm.service\n" + exited,
                "nextcloud.service": "Id=nextcloud.service\n" + exited,
                "gone.service": "Id=gone.service\n" + exited,
            ])
        let podman = try directory.write(
            "podman",
            """
            #!/bin/sh
            eval last=\\${$#}
            case "$last" in
              litellm) echo exited ;;
              nextcloud) echo running ;;
              *) echo "Error: no such container $last" >&2; exit 125 ;;
            esac
            """, mode: 0o755)
        var configuration = SystemdConfiguration(
            units: [
                UnitExpectation(name: "litellm.service", container: "litellm"),
                UnitExpectation(name: "nextcloud.service", container: "nextcloud"),
                UnitExpectation(name: "gone.service", container: "gone"),
            ],
            systemctl: systemctl)
        configuration.podman = podman
        let results = await SystemdCheck(configuration).run(in: context(directory)).results
        #expect(results.map(\.status) == [.crit, .ok, .crit], "\(results.map(\.summary))")
        #expect(results[0].summary.hasPrefix("active (exited) but its container 'litellm' is exited"))
        #expect(results[2].summary.hasPrefix("active (exited) but its container 'gone' is missing"))
    }

    @Test("timers: stale and failed are crit, recent and enabled are ok")
    func timers() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let systemctl = try fakeSystemctl(
            directory,
            blocks: [
                "space-mirror.timer": """
                Id=space-mirror.timer
                LoadState=loaded
                ActiveState=active
                SubState=waiting
                UnitFileState=enabled
                LastTriggerUSec=Wed 2026-11-26 04:00:00 UTC
                NextElapseUSecRealtime=Fri 2026-11-28 04:00:00 UTC
                Unit=space-mirror.service
                """,
                "space-mirror.service":
                    "Id=space-mirror.service\nLoadState=loaded\nActiveState=inactive\nSubState=dead\nResult=success",
                "restic.timer": """
                Id=restic.timer
                LoadState=loaded
                ActiveState=active
                SubState=waiting
                UnitFileState=enabled
                LastTriggerUSec=Fri 2026-11-27 03:00:00 UTC
                NextElapseUSecRealtime=Sat 2026-11-28 03:00:00 UTC
                Unit=restic.service
                """,
                "restic.service":
                    "Id=restic.service\nLoadState=loaded\nActiveState=failed\nSubState=failed\nResult=exit-code",
                "fresh.timer": """
                Id=fresh.timer
                LoadState=loaded
                ActiveState=active
                SubState=waiting
                UnitFileState=enabled
                LastTriggerUSec=Fri 2026-11-27 09:00:00 UTC
                NextElapseUSecRealtime=Fri 2026-11-27 11:00:00 UTC
                Unit=fresh.service
                """,
                "fresh.service":
                    "Id=fresh.service\nLoadState=loaded\nActiveState=inactive\nSubState=dead\nResult=success",
                "off.timer":
                    "Id=off.timer\nLoadState=loaded\nActiveState=inactive\nSubState=dead\nUnitFileState=disabled\nLastTriggerUSec=n/a\nNextElapseUSecRealtime=n/a",
            ])
        let check = SystemdCheck(
            SystemdConfiguration(
                timers: [
                    TimerExpectation(name: "space-mirror.timer", maxSinceLast: .seconds(26 * 3600)),
                    TimerExpectation(name: "restic.timer", maxSinceLast: .seconds(26 * 3600)),
                    TimerExpectation(name: "fresh.timer", maxSinceLast: .seconds(3600 * 2)),
                    TimerExpectation(name: "off.timer"),
                ],
                systemctl: systemctl))
        let report = await check.run(in: context(directory))
        let byID = Dictionary(uniqueKeysWithValues: report.results.map { ($0.id, $0) })
        let stale = try #require(byID["timer:space-mirror.timer"])
        #expect(stale.status == .crit)
        #expect(stale.summary.hasPrefix("last fired 1d6h ago (limit 1d2h)"), "\(stale.summary)")
        #expect(
            byID["timer:restic.timer"]?.summary.contains("last run of restic.service failed (result exit-code)") == true
        )
        #expect(byID["timer:fresh.timer"]?.status == .ok)
        #expect(byID["timer:fresh.timer"]?.summary == "fired 1h ago, next in 1h")
        #expect(byID["timer:fresh.timer"]?.observations["since_last_s"] == .int(3600))
        #expect(byID["timer:off.timer"]?.status == .crit)
        #expect(byID["timer:off.timer"]?.summary.contains("timer is disabled, not enabled") == true)
    }

    @Test("no systemd here, or no systemctl at all: unknown with the reason, not a crash")
    func noSystemd() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let missing = SystemdCheck(
            SystemdConfiguration(units: [UnitExpectation(name: "a.service")], systemctl: "phc-no-such-systemctl"))
        let result = await missing.run(in: context(directory)).results
        #expect(result.count == 1 && result[0].status == .unknown)
        #expect(result[0].summary == "phc-no-such-systemctl: command not found")

        let failing = try directory.write(
            "systemctl",
            "#!/bin/sh\necho 'System has not been booted with systemd as init system (PID 1). Can'\\''t operate.' >&2\nexit 1\n",
            mode: 0o755)
        let booted = SystemdCheck(
            SystemdConfiguration(
                units: [UnitExpectation(name: "a.service")], timers: [TimerExpectation(name: "b.timer")],
                systemctl: failing))
        let results = await booted.run(in: context(directory)).results
        #expect(results.map(\.id) == ["unit:a.service", "timer:b.timer"])
        #expect(results.allSatisfy { $0.status == .unknown })
        #expect(
            results[0].summary
                == "systemctl failed: System has not been booted with systemd as init system (PID 1). Can't operate.")
    }
}
