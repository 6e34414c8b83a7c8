import Foundation
import InMemoryLogging
import Logging
import PHCAgent
import PHCCore
import PHCTestSupport

/// A temporary world for one agent: key, devices folder, state folder, config file.
final class AgentSandbox: @unchecked Sendable {
    let directory: TemporaryDirectory
    let key: SigningKey
    let logs = InMemoryLogHandler()
    var devicesDir: String
    let device: String

    init(device: String = "testhost") throws {
        directory = try TemporaryDirectory("phc-agent")
        self.device = device
        key = try SigningKey.create(at: directory.file("agent.key"))
        devicesDir = try directory.folder("devices")
    }

    var stateDir: String { directory.file("state") }
    var keyPath: String { directory.file("agent.key") }
    var manifestPath: String { "\(devicesDir)/\(device)/_health/manifest.json" }
    var healthDir: String { "\(devicesDir)/\(device)/_health" }

    /// Writes agent.yaml with `checks` (YAML under `checks:`, indented by the caller) and loads it.
    func configuration(checks: String = "", deadline: String = "10s", extra: String = "") throws -> AgentConfiguration {
        let text = """
            device: \(device)
            devices_dir: \(devicesDir)
            state_dir: \(stateDir)
            key_file: \(keyPath)
            interval: 60s
            deadline: \(deadline)
            \(extra)
            checks:
              system:
                load_per_cpu: {warn: 1000, crit: 2000}
                memory_available: {warn: 0%}
                root_free: {warn: 0%}
            \(checks)
            """
        let path = try directory.write("agent.yaml", text)
        return try AgentConfiguration.load(path: path, hostName: device)
    }

    func runner(
        _ configuration: AgentConfiguration, clock: WallClock = .system, mountTable: String = MountTable.defaultPath
    )
        -> AgentRunner
    {
        let handler = logs
        return AgentRunner(
            configuration: configuration, logger: Logger(label: "test") { _ in handler }, clock: clock,
            mountTablePath: mountTable)
    }

    /// The published manifest, verified with the sandbox key.
    func published() throws -> Manifest {
        try Self.verify(try Repository.read(manifestPath), key: key)
    }

    static func verify(_ line: Data, key: SigningKey) throws -> Manifest {
        try SignedManifest(envelope: line, trustedKeys: [key.publicKey]).manifest
    }

    func remove() { directory.remove() }
}

extension Manifest {
    func check(_ id: String) -> CheckResult? { checks.first { $0.id == id } }
}
