#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import PHCCore
import PHCTestSupport
import Testing

/// scripts/install, scripts/uninstall, scripts/package and scripts/quickstart, run for real:
/// into a `--destdir` folder, checked with systemd-analyze, the packaged binaries run with the
/// Swift toolchain hidden.
@Suite("deployment: install, units, package, quickstart")
struct DeploymentTests {
    let agent = Command.built("phc-agent")
    let collector = Command.built("phc-collector")
    var binaries: String { (agent as NSString).deletingLastPathComponent }

    static let releaseBinaries = ProcessInfo.processInfo.environment["PHC_RELEASE_BINARIES"]
    static var canUnshare: Bool { Mounts.canMount && Command.which("unshare") != nil }

    func script(_ name: String) -> String { Repository.root + "/scripts/" + name }

    /// Every file under `root`: mode, size, inode and modification time, so a rewrite shows.
    func snapshot(_ root: String) -> [String: String] {
        var files: [String: String] = [:]
        for case let relative as String in FileManager.default.enumerator(atPath: root) ?? .init() {
            var info = stat()
            guard lstat(root + "/" + relative, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            files[relative] =
                "\(String(info.st_mode & 0o7777, radix: 8)) \(info.st_size) \(info.st_ino) "
                + "\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        }
        return files
    }

    func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o7777 : 0
    }

    @Test(
        "install agent --destdir twice: the second changes nothing; config kept, key 0600, enrolment line; uninstall keeps key and config"
    )
    func installIsIdempotent() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = try directory.folder("root")
        let config = try directory.write(
            "agent.yaml",
            "device: testbox\ndevices_dir: /space/devices\nstate_dir: /var/lib/phc-agent\n"
                + "key_file: /etc/phc/agent.key\nchecks:\n  mounts: [{path: /}, {path: /mnt/scratch, write_probe: true}]\n"
        )
        let install = [script("install"), "agent", "--destdir", root, "--binaries", binaries]

        let first = try await Command.run("/bin/bash", install + ["--config", config], timeout: 180)
        #expect(first.status == 0, "\(first.stderr)")
        for path in [
            "/usr/local/bin/phc-agent", "/etc/systemd/system/phc-agent.service", "/etc/systemd/system/phc-agent.timer",
            "/etc/phc/agent.yaml", "/usr/local/share/doc/phc/README.md",
        ] {
            #expect(FileManager.default.fileExists(atPath: root + path), "\(path) installed")
        }
        #expect(mode(root + "/etc/phc/agent.key") == 0o600)
        #expect(mode(root + "/usr/local/bin/phc-agent") == 0o755)
        let pubkey = try await Command.run(agent, ["pubkey", "--key", root + "/etc/phc/agent.key"])
        let line = "phc-collector trust add testbox " + pubkey.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(pubkey.stdout.hasPrefix("ed25519:"))
        #expect(first.stdout.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces) == line })
        #expect(try String(contentsOfFile: root + "/etc/phc/agent.yaml", encoding: .utf8).hasPrefix("device: testbox"))
        // The unit's file system is read-only but for the folders this configuration writes in.
        let dropIn = try String(
            contentsOfFile: root + "/etc/systemd/system/phc-agent.service.d/writable.conf", encoding: .utf8)
        #expect(
            dropIn.split(separator: "\n").contains("ReadWritePaths=-/var/lib/phc-agent -/space/devices -/mnt/scratch"),
            "\(dropIn)")
        let installedBinary = try await Command.run(root + "/usr/local/bin/phc-agent", ["--version"])
        #expect(installedBinary.stdout.hasPrefix("phc \(PHCVersion.current)"))

        // The operator edits the configuration; a second install (now without --config, so it
        // would pick this host's example or the generic one) keeps it and touches nothing else.
        let edited = try String(contentsOfFile: root + "/etc/phc/agent.yaml", encoding: .utf8) + "# edited\n"
        try edited.write(toFile: root + "/etc/phc/agent.yaml", atomically: false, encoding: .utf8)
        let before = snapshot(root)
        let second = try await Command.run("/bin/bash", install, timeout: 180)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("nothing changed"), "\(second.stdout)")
        #expect(second.stdout.contains("kept the existing /etc/phc/agent.yaml"))
        #expect(!second.stdout.contains("installed /"))
        #expect(second.stdout.contains(line), "the enrolment line is printed again")
        #expect(snapshot(root) == before)
        #expect(try String(contentsOfFile: root + "/etc/phc/agent.yaml", encoding: .utf8) == edited)

        let uninstall = try await Command.run("/bin/bash", [script("uninstall"), "--destdir", root, "agent"])
        #expect(uninstall.status == 0, "\(uninstall.stderr)")
        #expect(Set(snapshot(root).keys) == ["etc/phc/agent.yaml", "etc/phc/agent.key"])
        #expect(try String(contentsOfFile: root + "/etc/phc/agent.yaml", encoding: .utf8) == edited)
        let again = try await Command.run("/bin/bash", [script("uninstall"), "--destdir", root])
        #expect(again.status == 0 && again.stdout.contains("nothing to remove"), "\(again.stdout)")
        // Reinstalled, the device keeps its identity: same key, same enrolment line.
        let reinstall = try await Command.run("/bin/bash", install, timeout: 180)
        #expect(reinstall.status == 0 && reinstall.stdout.contains(line))
        let purge = try await Command.run("/bin/bash", [script("uninstall"), "--destdir", root, "--purge"])
        #expect(purge.status == 0, "\(purge.stderr)")
        #expect(snapshot(root).isEmpty, "\(snapshot(root).keys.sorted())")
    }

    static var canOverlay: Bool {
        canUnshare
            && ((try? String(contentsOfFile: "/proc/filesystems", encoding: .utf8))?.contains("overlay") ?? false)
    }

    @Test(
        "install and uninstall on the machine itself (no --destdir, user phc included), in a private mount namespace over overlays",
        .enabled(if: Self.canOverlay, "needs root, unshare and overlayfs"))
    func installWithoutDestdir() async throws {
        // /etc, /usr/local and /var/lib are overlays whose writes land in this test's folder, and
        // /run/systemd is hidden so that no systemd is asked to enable anything: the host stays as it was.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try directory.write(
            "agent.yaml", "device: selfbox\nchecks:\n  mounts: [{path: /}]\n")
        let script = """
            set -e
            for folder in etc usr/local var/lib; do
                mkdir -p "$0/upper/$folder" "$0/work/$folder"
                mount -t overlay phc-test -o "lowerdir=/$folder,upperdir=$0/upper/$folder,workdir=$0/work/$folder" "/$folder"
            done
            if [ -d /run/systemd ]; then mount -t tmpfs phc-test /run/systemd; fi
            bash "$1/scripts/install" agent --binaries "$2" --config "$3"
            bash "$1/scripts/install" collector --binaries "$2"
            stat -c '%U:%G %a' /etc/phc/collector.yaml /var/lib/phc-collector
            echo "=== uninstall"
            bash "$1/scripts/uninstall" agent
            bash "$1/scripts/uninstall" --purge collector
            """
        let run = try await Command.run(
            "/usr/bin/unshare",
            [
                "--mount", "--propagation", "private", "/bin/bash", "-c", script, directory.path, Repository.root,
                binaries, config,
            ],
            timeout: 180)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let parts = run.stdout.components(separatedBy: "=== uninstall\n")
        #expect(parts.count == 2, "\(run.stdout)")
        let (install, uninstall) = (parts.first ?? "", parts.last ?? "")
        #expect(install.contains("installed /usr/local/bin/phc-agent"), "\(install)")
        #expect(install.contains("systemd is not running here"))
        #expect(install.contains("phc-collector trust add selfbox ed25519:"))
        // The collector's own user owns its state and may read its configuration.
        #expect(install.contains("created system user phc"))
        #expect(install.contains("root:phc 640\n") && install.contains("phc:phc 750\n"), "\(install)")
        #expect(uninstall.contains("removed /usr/local/bin/phc-agent"), "\(uninstall)\(run.stderr)")
        #expect(uninstall.contains("kept /etc/phc/agent.key"))
        #expect(uninstall.contains("removed /etc/phc/collector.yaml") && uninstall.contains("removed system user phc"))
        // What is left: the agent's configuration and key (and empty folders), and /etc's account files
        // as useradd and userdel rewrote them.
        let left = Set(snapshot(directory.file("upper")).keys).filter {
            !["etc/passwd", "etc/group", "etc/shadow", "etc/gshadow", "etc/subuid", "etc/subgid", "etc/.pwd.lock"]
                .contains(
                    $0.hasSuffix("-") ? String($0.dropLast()) : $0)
        }
        #expect(left == ["etc/phc/agent.yaml", "etc/phc/agent.key"], "\(left.sorted())")
    }

    @Test(
        "install picks the example named after the host, else the generic configuration",
        .enabled(if: Self.canUnshare, "needs root and unshare (a private host name)"))
    func configurationByHostName() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for (host, example) in [("motoko", "motoko.yaml"), ("some-new-box", "generic.yaml")] {
            let root = try directory.folder(host)
            let run = try await Command.run(
                "/usr/bin/unshare",
                [
                    "--uts", "/bin/sh", "-c", "hostname \"$0\" && exec \"$@\"", host, "/bin/bash", script("install"),
                    "agent", "--destdir", root, "--binaries", binaries,
                ], timeout: 180)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(
                run.stdout.contains("installed /etc/phc/agent.yaml (from agent-config/\(example))"), "\(run.stdout)")
            let installed = try Data(contentsOf: URL(fileURLWithPath: root + "/etc/phc/agent.yaml"))
            #expect(
                installed == (try Data(contentsOf: URL(fileURLWithPath: Repository.root + "/agent-config/" + example))))
            let device = host == "motoko" ? "motoko" : "some-new-box"
            #expect(run.stdout.contains("phc-collector trust add \(device) ed25519:"))
        }
    }

    @Test(
        "the installed units pass systemd-analyze verify, and security rates each service at most 4.0",
        .enabled(if: Command.which("systemd-analyze") != nil, "needs systemd-analyze (package systemd)"))
    func unitsVerifyAndAreHardened() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = try directory.folder("root")
        for component in ["agent", "collector"] {
            let run = try await Command.run(
                "/bin/bash", [script("install"), component, "--destdir", root, "--binaries", binaries], timeout: 180)
            #expect(run.status == 0, "\(run.stderr)")
        }
        // The units they refer to (network-online.target, timers.target…) come from the host's systemd.
        let copy = try await Command.run(
            "/bin/cp", ["-r", "/usr/lib/systemd/system", try directory.folder("root/usr/lib/systemd")])
        #expect(copy.status == 0)
        let units = [
            "phc-agent.service", "phc-agent.timer", "phc-collector.service", "phc-collector.timer",
            "phc-collector-every.service",
        ]
        let analyze = try #require(Command.which("systemd-analyze"))
        let verify = try await Command.run(
            analyze, ["verify", "--root=" + root] + units.map { root + "/etc/systemd/system/" + $0 })
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(
            verify.stdout.isEmpty && verify.stderr.isEmpty,
            "systemd-analyze verify says: \(verify.stderr)\(verify.stdout)")
        for service in units where service.hasSuffix(".service") {
            let security = try await Command.run(analyze, ["security", "--offline=true", "--root=" + root, service])
            #expect(security.status == 0, "\(security.stderr)")
            let marker = "Overall exposure level for \(service): "
            let line = security.stdout.split(separator: "\n").first { $0.contains(marker) }
            let score = line.flatMap { Double($0.components(separatedBy: marker)[1].prefix { $0 != " " }) }
            #expect(score != nil && score! <= 4.0, "\(service): \(line ?? "no score")")
        }
        // Each relaxation is explained, next to it, by the check that needs it.
        let agentUnit = try String(
            contentsOfFile: Repository.root + "/scripts/systemd/phc-agent.service", encoding: .utf8
        )
        .split(separator: "\n").map(String.init)
        for relaxation in [
            "ReadWritePaths=-/space/devices", "ProtectHome=read-only", "ReadWritePaths=-/var/lib/containers",
            "CapabilityBoundingSet=CAP_DAC_READ_SEARCH", "DeviceAllow=char-nvidia ", "DeviceAllow=/dev/kmsg",
            "ProtectKernelLogs=no", "ProtectProc=default",
        ] {
            let at = try #require(agentUnit.firstIndex { $0.hasPrefix(relaxation) }, "\(relaxation) is in the unit")
            let comment = agentUnit[..<at].reversed().drop { !$0.hasPrefix("#") }.prefix { $0.hasPrefix("#") }
            #expect(comment.contains { $0.hasPrefix("# Relaxation (") }, "\(relaxation) is explained")
        }
    }

    @Test(
        "the deployable binaries take argv from the C library, without the standard library's /proc/self/maps scan",
        .enabled(
            if: Self.releaseBinaries != nil, "needs PHC_RELEASE_BINARIES (scripts/test builds the release binaries)"))
    func argumentsWithoutScan() async throws {
        let odd = "/nonexistent/a folder/é ü 😀 --version.yaml"
        for binary in ["phc-agent", "phc-collector"] {
            let path = Self.releaseBinaries! + "/" + binary
            let symbols = try await Command.run("/usr/bin/nm", [path])
            #expect(symbols.status == 0 && symbols.stdout.contains(" T _swift_stdlib_getUnsafeArgvArgc"), "\(binary)")
            #expect(!symbols.stdout.contains("_GLOBAL__sub_I_CommandLine.cpp"), "\(binary) links the scan")
            // Every argument arrives as given: spaces, non-ASCII, one that looks like an option.
            let result = try await Command.run(path, ["config", "validate", "--config", odd])
            #expect(
                result.status == 1 && result.stderr.hasPrefix(odd + ": cannot read configuration"), "\(result.stderr)")
        }
    }

    @Test(
        "the packaged binaries need no Swift toolchain: --version, a check, and the agent → collector pipeline run with it hidden",
        .enabled(
            if: Self.releaseBinaries != nil && Self.canUnshare,
            "needs root, unshare and PHC_RELEASE_BINARIES (scripts/test builds the release binaries and sets it)"))
    func packagedBinariesRunWithoutToolchain() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let package = try await Command.run(
            "/bin/bash", [script("package"), "--binaries", Self.releaseBinaries!, "--out", directory.path], timeout: 300
        )
        #expect(package.status == 0, "\(package.stderr)")
        let tarball = package.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(tarball.hasSuffix("/phc-\(PHCVersion.current)-linux-\(Self.machine).tar.gz"), "\(tarball)")
        let unpack = try await Command.run("/bin/tar", ["-xzf", tarball, "-C", directory.path])
        #expect(unpack.status == 0, "\(unpack.stderr)")
        let tree = directory.file("phc-\(PHCVersion.current)-linux-\(Self.machine)")
        for path in [
            "bin/phc-agent", "bin/phc-collector", "INSTALL", "README.md", "scripts/install", "scripts/uninstall",
            "scripts/systemd/phc-agent.service", "scripts/systemd/phc-collector.timer", "agent-config/generic.yaml",
            "collector-config/motoko.yaml",
        ] {
            #expect(FileManager.default.fileExists(atPath: tree + "/" + path), "\(path) is in the package")
        }
        for binary in ["phc-agent", "phc-collector"] {
            let ldd = try await Command.run("/usr/bin/ldd", [tree + "/bin/" + binary])
            #expect(
                ldd.status == 0 && !ldd.stdout.contains("swift") && !ldd.stdout.contains("Foundation"), "\(ldd.stdout)")
            // zlib is linked in: a shared library fewer to load at every start.
            #expect(!ldd.stdout.contains("libz.so"), "\(ldd.stdout)")
            // No run path: the loader goes straight to the system's libraries (and dlopen takes no
            // libcurl.so.4 from the binary's own folder).
            let dynamic = try await Command.run("/usr/bin/readelf", ["-d", tree + "/bin/" + binary])
            #expect(dynamic.status == 0 && dynamic.stdout.contains("(NEEDED)"), "\(dynamic.stderr)")
            #expect(!dynamic.stdout.contains("RUNPATH") && !dynamic.stdout.contains("(RPATH)"), "\(dynamic.stdout)")
        }

        // The folder holding libswiftCore.so, hidden by a tmpfs in a private mount namespace.
        let debugLibraries = try await Command.run("/usr/bin/ldd", [agent]).stdout
        let core = try #require(
            debugLibraries.split(separator: "\n").first { $0.contains("libswiftCore.so =>") },
            "the debug build links the toolchain's libswiftCore.so")
        let coreLibrary = String(core.components(separatedBy: "=> ")[1].prefix { $0 != " " })
        let toolchainLibraries = (coreLibrary as NSString).deletingLastPathComponent
        func withoutToolchain(_ arguments: [String]) async throws -> Command.Output {
            try await Command.run(
                "/usr/bin/unshare",
                [
                    "--mount", "--propagation", "private", "/bin/sh", "-c",
                    "mount -t tmpfs -o size=1m phc-no-toolchain \"$0\" && exec env -u LD_LIBRARY_PATH \"$@\"",
                    toolchainLibraries,
                ] + arguments, timeout: 120)
        }
        // The control: a binary that needs the toolchain does not start there.
        let control = try await withoutToolchain([agent, "--version"])
        #expect(
            control.status != 0 && control.stderr.contains("error while loading shared libraries: libswift"),
            "\(control.stderr)")

        let packagedAgent = tree + "/bin/phc-agent"
        let packagedCollector = tree + "/bin/phc-collector"
        for binary in [packagedAgent, packagedCollector] {
            let version = try await withoutToolchain([binary, "--version"])
            #expect(version.status == 0 && version.stdout.hasPrefix("phc \(PHCVersion.current)"), "\(version.stderr)")
        }
        let keyLine = try await withoutToolchain([packagedAgent, "keygen", "--key", directory.file("agent.key")])
        #expect(keyLine.status == 0 && keyLine.stdout.hasPrefix("ed25519:"), "\(keyLine.stderr)")
        try directory.folder("devices")
        let agentConfig = try directory.write(
            "agent.yaml",
            "device: packaged\ndevices_dir: devices\nstate_dir: state\nkey_file: agent.key\nchecks:\n"
                + "  mounts: [{path: /, timeout: 5s}]\n"
                + "  system: {load_per_cpu: {warn: 1000}, memory_available: {warn: 0%}, root_free: {warn: 0%}}\n")
        let check = try await withoutToolchain([packagedAgent, "check", "--config", agentConfig])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("mount:/"), "\(check.stdout)")
        let run = try await withoutToolchain([packagedAgent, "run", "--config", agentConfig])
        #expect(run.status == 0 && run.stdout.hasPrefix("published sequence 1"), "\(run.stdout)\(run.stderr)")
        let collectorConfig = try directory.write(
            "collector.yaml",
            "devices_dir: devices\npublish_dir: devices/_fleet\ndatabase: collector/collector.sqlite\n"
                + "trust_file: collector/trust.json\n")
        let trust = try await withoutToolchain([
            packagedCollector, "trust", "add", "packaged",
            keyLine.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
            "--config", collectorConfig,
        ])
        #expect(trust.status == 0, "\(trust.stderr)")
        let pass = try await withoutToolchain([packagedCollector, "run", "--config", collectorConfig])
        #expect(
            pass.status == 0 && pass.stdout.hasPrefix("pass: 1 devices, 1 manifests accepted"),
            "\(pass.stdout)\(pass.stderr)")
        let report = try await withoutToolchain([packagedCollector, "report", "--config", collectorConfig])
        #expect(report.stdout.contains("packaged") && report.stdout.contains("signed"), "\(report.stdout)")
        #expect(FileManager.default.fileExists(atPath: directory.file("devices/_fleet/index.html")))

        // The unpacked tree installs its own binaries, with no toolchain and no --binaries.
        let root = try directory.folder("root")
        let install = try await withoutToolchain([
            "/bin/bash", tree + "/scripts/install", "collector", "--destdir", root,
        ])
        #expect(install.status == 0, "\(install.stdout)\(install.stderr)")
        #expect(!install.stdout.contains("building"))
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: root + "/usr/local/bin/phc-collector"))
                == Data(contentsOf: URL(fileURLWithPath: packagedCollector)))
    }

    static var machine: String {
        var names = utsname()
        uname(&names)
        return withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    @Test("under systemd (JOURNAL_STREAM set) every log and error line carries its <N> priority, one event per line")
    func journaldFriendlyLogs() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let journal = ["JOURNAL_STREAM": "8:4242"]
        #expect(try await Command.run(agent, ["keygen", "--key", directory.file("agent.key")]).status == 0)
        // The share is missing: the manifest is spooled, with a warning.
        let config = try directory.write(
            "agent.yaml",
            "device: box\ndevices_dir: no-share\nstate_dir: state\nkey_file: agent.key\nchecks:\n  mounts: [{path: /}]\n"
        )
        let spooled = try await Command.run(agent, ["run", "--config", config], environment: journal)
        #expect(spooled.status == 0, "\(spooled.stderr)")
        let warnings = spooled.stderr.split(separator: "\n")
        #expect(warnings.contains { $0.hasPrefix("<4>") && $0.contains("spooled") }, "\(spooled.stderr)")
        // A configuration that cannot be used: errors, at error priority.
        let broken = try directory.write(
            "broken.yaml", "device: box\ndevices_dir: .\nkey_file: missing.key\nbogus: 1\n")
        let refused = try await Command.run(agent, ["run", "--config", broken], environment: journal)
        #expect(refused.status == 1)
        let collectorFailure = try await Command.run(
            collector,
            [
                "run", "--config",
                try directory.write("collector.yaml", "devices_dir: nowhere\ndatabase: db/c.sqlite\n"),
            ],
            environment: journal)
        #expect(collectorFailure.status == 1)
        for output in [spooled, refused, collectorFailure] {
            let lines = output.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            #expect(!lines.isEmpty)
            for line in lines {
                #expect(line.range(of: #"^<[0-7]>[^<]"#, options: .regularExpression) != nil, "\(line)")
                #expect(!line.contains("\u{1B}") && !line.contains("\r"))
            }
        }
        #expect(refused.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("<3>") }, "\(refused.stderr)")
        #expect(refused.stderr.contains("bogus"))
        #expect(
            collectorFailure.stderr.hasPrefix("<3>phc-collector: error: devices_dir "), "\(collectorFailure.stderr)")
    }

    @Test("the quickstart's pipeline: agent run, enrolment, collector pass, report, page and manifest paths")
    func quickstartPipeline() async throws {
        // The quickstart and its two demo configurations, in a copy of the repository's layout, so
        // the run writes its .phc-demo folder there and not into the checkout.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for path in ["scripts/quickstart", "agent-config/default.yaml", "collector-config/default.yaml"] {
            try directory.folder((path as NSString).deletingLastPathComponent)
            try FileManager.default.copyItem(atPath: Repository.root + "/" + path, toPath: directory.file(path))
        }
        let first = try await Command.run(
            "/bin/bash", [directory.file("scripts/quickstart")], environment: ["PHC_BINARIES": binaries], timeout: 120)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let output = first.stdout
        #expect(output.contains("published sequence 1 "), "\(output)")
        #expect(output.contains("trusted: "))
        #expect(output.contains("pass: 1 devices, 1 manifests accepted, 0 refused"))
        let lines = output.split(separator: "\n").map(String.init)
        let header = try #require(lines.firstIndex { $0.hasPrefix("DEVICE ") }, "the report is printed")
        #expect(lines[header + 1].contains(" signed "), "\(lines[header + 1])")
        let manifest = try #require(lines.first { $0.hasPrefix("manifest:") }).dropFirst("manifest:".count)
            .trimmingCharacters(in: .whitespaces)
        let page = try #require(lines.first { $0.hasPrefix("page:") }).dropFirst("page:".count)
            .trimmingCharacters(in: .whitespaces)
        #expect(
            manifest.hasPrefix(directory.path + "/.phc-demo/devices/") && manifest.hasSuffix("/_health/manifest.json"))
        #expect(FileManager.default.fileExists(atPath: manifest))
        #expect(page == directory.path + "/.phc-demo/devices/_fleet/index.html")
        #expect(try String(contentsOfFile: page, encoding: .utf8).contains("<html"))

        // Run again: the same key, already enrolled, another manifest and pass.
        let second = try await Command.run(
            "/bin/bash", [directory.file("scripts/quickstart")], environment: ["PHC_BINARIES": binaries], timeout: 120)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("published sequence 2 ") && second.stdout.contains("already trusted: "))
        #expect(second.stdout.contains("pass: 1 devices, 1 manifests accepted"))
    }
}
